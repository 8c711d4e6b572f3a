// The door's service worker (served as /scan-sw.js, scope /scan): /scan opens and
// reloads with no network once it has been opened online. The page is network-first
// (the newest door when there is a network, the last one when there is none); its
// assets likewise, so a deploy is picked up at once. API calls are never answered
// from the cache: they pass straight through, and the page decides what offline means.
"use strict";
const CACHE = "door-v1";
const PAGE = "/scan";
const ASSETS = [
  "/static/app.css",
  "/static/scan.css",
  "/static/scan.js",
  "/static/camera.js",
  "/static/vendor/idb-8.0.4/umd.js",
  "/static/vendor/barcode-detector-3.2.2/ponyfill.js",
  "/static/vendor/barcode-detector-3.2.2/zxing_reader.wasm",
];
const NETWORK_WAIT = 4000;  // ms: a Wi-Fi that hangs counts as none

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    // The page the worker was registered from was loaded before it existed.
    try { await keepPage(cache, await fetch(PAGE, { credentials: "same-origin" })); } catch (_) { /* next visit */ }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

async function keepPage(cache, response) {
  // Logged out (a redirect to the login form) or an error: never the door's copy.
  if (response.ok && !response.redirected && new URL(response.url).pathname === PAGE) {
    await cache.put(PAGE, response.clone());
  } else if (response.redirected) {
    await cache.delete(PAGE);
  }
  return response;
}

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("network timeout")), NETWORK_WAIT);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
                 (error) => { clearTimeout(timer); reject(error); });
  });
}

async function networkFirst(request, isPage) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request));
    if (isPage) return await keepPage(cache, response);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(isPage ? PAGE : request, { ignoreSearch: isPage });
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;  // never from the cache
  if (url.pathname === PAGE && request.mode === "navigate") {
    event.respondWith(networkFirst(request, true));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(networkFirst(new Request(url.pathname), false));
  }
});
