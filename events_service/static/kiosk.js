// The self check-in kiosk. The camera (static/camera.js) or the typed e-mail and
// short code go to the kiosk's routes, which admit through the door's own scan; the
// verdict fills the screen, an admission prints the badge (a hidden frame holding the
// badge page, which prints itself), and the start screen comes back by itself.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const TEXT = JSON.parse($("kiosk-words").textContent);
  const LANG = `lang=${encodeURIComponent(document.documentElement.lang)}`;
  const COLOURS = { admitted: "green", already_admitted: "amber" };
  const RESET_MS = 6000;
  let resetTimer = null;
  let busy = false;
  let lastCode = "", lastAt = 0;
  let current = null;  // the last admitted/already admitted answer: its badge key

  function csrfHeaders() {
    const found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? { "x-csrftoken": decodeURIComponent(found[1]) } : {};
  }

  async function post(path, body) {
    const response = await fetch(`${path}?${LANG}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...csrfHeaders() },
      body: JSON.stringify(body),
    });
    const answer = response.status === 204 ? {} : await response.json().catch(() => ({}));
    return { status: response.status, answer };
  }

  function reset() {
    clearTimeout(resetTimer);
    $("verdict").hidden = true;
    $("reprint").hidden = true;
    $("typed").reset();
    current = null;
    busy = false;
  }

  function show(outcome, message, next) {
    const box = $("verdict");
    box.className = `verdict ${COLOURS[outcome] || "red"}`;
    box.dataset.outcome = outcome;
    $("verdict-word").textContent = TEXT.headlines[outcome] || TEXT.headlines.error;
    $("verdict-message").textContent = message;
    $("verdict-next").textContent = next || "";
    box.hidden = false;
    clearTimeout(resetTimer);
    resetTimer = setTimeout(reset, RESET_MS);
  }

  async function printBadge(answer) {
    const { status, answer: printed } = await post(
      `/kiosk/badge/${answer.registration_id}/print`, { key: answer.badge_token });
    if (status !== 200) return;
    $("badge-frame").dataset.print = String(printed.print_id);
    $("badge-frame").src = printed.url;
  }

  async function answered({ status, answer }) {
    if (status === 429) { show("error", TEXT.too_many, TEXT.desk); return; }
    if (status !== 200) { show("error", answer.detail || answer.title || TEXT.network, TEXT.desk); return; }
    const outcome = answer.outcome;
    if (outcome === "admitted") {
      show(outcome, answer.message, TEXT.printing);
      current = answer;
      printBadge(answer);
    } else if (outcome === "already_admitted") {
      show(outcome, answer.message, "");
      current = answer;
      $("reprint").hidden = false;
    } else {
      show(outcome, answer.message, TEXT.desk);
    }
  }

  async function checkIn(path, body) {
    if (busy) return;
    busy = true;
    try {
      await answered(await post(path, { ...body, scan_id: crypto.randomUUID() }));
    } catch (_) {
      show("error", TEXT.network, TEXT.desk);
    }
  }

  function sighted(code) {
    const now = Date.now();
    if (busy || (code === lastCode && now - lastAt < 8000)) return;
    lastCode = code; lastAt = now;
    checkIn("/kiosk/scan", { code });
  }

  $("typed").addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn("/kiosk/lookup", { email: $("kiosk-email").value.trim(), short_code: $("kiosk-code").value.trim() });
  });
  $("reprint").addEventListener("click", (event) => {
    event.stopPropagation();
    if (!current) return;
    $("reprint").hidden = true;
    $("verdict-next").textContent = TEXT.printing;
    printBadge(current);
    clearTimeout(resetTimer);
    resetTimer = setTimeout(reset, RESET_MS);
  });
  $("verdict").addEventListener("click", reset);

  // Leaving: the staff member's password, checked by the server.
  $("staff").addEventListener("click", () => {
    $("leave-error").hidden = true; $("leave-password").value = "";
    $("leave").showModal();
  });
  $("leave-cancel").addEventListener("click", () => $("leave").close());
  $("leave-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const { status, answer } = await post("/kiosk/leave", { password: $("leave-password").value })
      .catch(() => ({ status: 0, answer: {} }));
    if (status === 204) { window.location.assign("/kiosk/setup"); return; }
    $("leave-error").textContent = status === 429 ? TEXT.too_many : (answer.detail || TEXT.wrong_password);
    $("leave-error").hidden = false;
  });

  // Locked: no way out through the browser's own gestures on the kiosk page.
  document.addEventListener("contextmenu", (event) => event.preventDefault());
  window.history.pushState(null, "", window.location.href);
  window.addEventListener("popstate", () => window.history.pushState(null, "", window.location.href));

  if (window.DoorCamera && window.DoorCamera.available()) {
    window.DoorCamera.start($("video"), sighted).catch(() => { $("video").hidden = true; });
  }
})();
