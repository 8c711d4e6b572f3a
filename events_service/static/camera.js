// Camera scanning for the door and the kiosk, on any browser with a camera.
// Decodes with the browser's own BarcodeDetector where it reads QR codes (Chrome on
// Android), else with the barcode-detector ponyfill (zxing-wasm), loaded on first
// use from static/vendor; its WebAssembly comes from us, never from the CDN the
// package defaults to. window.DoorCamera.start(video, onCode) -> {stop()}.
(() => {
  "use strict";
  const VENDOR = "/static/vendor/barcode-detector-3.2.2/";
  const FORMATS = ["qr_code"];
  let detectorPromise = null;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.append(script);
    });
  }

  async function nativeDetector() {
    if (typeof window.BarcodeDetector !== "function") return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: FORMATS }) : null;
    } catch (_) { return null; }
  }

  async function polyfillDetector() {
    if (!window.BarcodeDetectionAPI) await loadScript(`${VENDOR}ponyfill.js`);
    const api = window.BarcodeDetectionAPI;
    await api.prepareZXingModule({
      overrides: {
        locateFile: (path, prefix) => (path.endsWith(".wasm") ? `${VENDOR}${path}` : prefix + path),
      },
      fireImmediately: true,
    });
    return new api.BarcodeDetector({ formats: FORMATS });
  }

  function detector() {
    if (!detectorPromise) {
      detectorPromise = (async () => (await nativeDetector()) || polyfillDetector())();
      detectorPromise.catch(() => { detectorPromise = null; });  // a failed load may be retried
    }
    return detectorPromise;
  }

  function available() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  async function start(video, onCode) {
    const reader = await detector();
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" } }, audio: false,
    });
    video.setAttribute("playsinline", "");
    video.muted = true;
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    let running = true;
    const tick = async () => {
      if (!running) return;
      if (video.readyState >= 2) {
        try {
          for (const found of await reader.detect(video)) if (found.rawValue) onCode(found.rawValue);
        } catch (_) { /* a frame that cannot be read */ }
      }
      // The next frame after this one's answer: a slow decoder never piles up work.
      if (running) setTimeout(tick, 120);
    };
    tick();
    return {
      stop() {
        running = false;
        for (const track of stream.getTracks()) track.stop();
        video.srcObject = null;
        video.hidden = true;
      },
    };
  }

  window.DoorCamera = { available, start };
})();
