// The door page. A keyboard-wedge scanner types the code and Enter into #code,
// which keeps the focus; a phone uses the camera where BarcodeDetector exists.
// Each verdict fills the screen with its colour and a tone, then clears itself.
// With no network, codes are checked against the event's public key here and
// queued; the queue is sent (with its scan ids, so nothing counts twice) later.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const events = JSON.parse($("events-data").textContent);
  const QUEUE = "door-queue";
  // Every word shown, in the page's language, from the catalogue (checkin/pages.py).
  const TEXT = JSON.parse($("scan-words").textContent);
  const WORDS = TEXT.verdicts;
  // The API answers in the page's language (its messages and refusals), whatever the browser's.
  const LANG = `lang=${encodeURIComponent(document.documentElement.lang)}`;
  const fill = (template, values) =>
    template.replace(/%\((\w+)\)s/g, (whole, key) => (key in values ? String(values[key]) : whole));
  const COLOURS = { admitted: "green", offline: "green", already_admitted: "amber", undone: "amber" };
  let door = JSON.parse(localStorage.getItem("door") || "null");
  let hideTimer = null;
  let lastCode = "", lastAt = 0;
  let audio = null;

  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = kind === "green" ? 880 : kind === "amber" ? 520 : 220;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + (kind === "red" ? 0.6 : 0.18));
    } catch (_) { /* no sound is no reason to stop the door */ }
  }

  function show(verdict, message) {
    const colour = COLOURS[verdict] || "red";
    const box = $("verdict");
    box.className = `verdict ${colour}`;
    box.dataset.verdict = verdict;
    $("verdict-word").textContent = WORDS[verdict] || verdict.toUpperCase();
    $("verdict-message").textContent = message;
    box.hidden = false;
    beep(colour);
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { box.hidden = true; focusInput(); }, colour === "green" ? 1800 : 3500);
  }

  function focusInput() { if (!$("door").hidden) $("code").focus(); }

  // Cookie-authenticated writes carry the CSRF token the page was served with.
  function csrfHeaders() {
    const found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? { "x-csrftoken": decodeURIComponent(found[1]) } : {};
  }

  async function post(body) {
    const response = await fetch(`/api/v1/checkins?${LANG}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...csrfHeaders() }, body: JSON.stringify(body),
    });
    if (response.status === 401) { window.location.assign(`/login?next=/scan`); return null; }
    const answer = await response.json();
    // A refusal (a problem document, e.g. a scan_id already used for another scan)
    // is never a verdict: it must not show green, whatever the body holds.
    if (!response.ok) {
      const refused = new Error(answer.detail || answer.title || TEXT.refused);
      refused.settles = [400, 409, 422].includes(response.status);
      throw refused;
    }
    return answer;
  }

  function scanBody(extra) {
    return { event_id: door.eventId, gate: door.gate, scan_id: crypto.randomUUID(),
             scanned_at: new Date().toISOString(), ...extra };
  }

  async function submit(extra) {
    const body = scanBody(extra);
    try {
      const answer = await post(body);
      if (answer) {
        show(answer.verdict, answer.message); refreshCounts();
        if (answer.verdict === "admitted" && answer.registration_id) rememberAdmission(answer);
      }
    } catch (error) {
      if (error instanceof TypeError && body.code) return offline(body);
      show("refused", String(error.message || error));
    }
  }

  // ---- offline: verify locally, queue, send later -------------------------------
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  function base32(text) {
    const clean = text.replace(/\s+/g, "").toUpperCase().replace(/=+$/, "");
    let bits = 0, value = 0; const out = [];
    for (const ch of clean) {
      const index = B32.indexOf(ch); if (index < 0) return null;
      value = (value << 5) | index; bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }
  async function verifyLocally(code) {
    const raw = base32(code);
    if (!raw || raw.length !== 73) return "unknown";
    const eventId = new DataView(raw.buffer).getUint32(5);
    if (eventId !== door.eventId) return "wrong_event";
    if (!door.publicKey) return "offline";  // cannot check: let the server decide later
    try {
      const key = await crypto.subtle.importKey(
        "raw", base32url(door.publicKey), { name: "Ed25519" }, false, ["verify"]);
      const context = new TextEncoder().encode("events-service/ticket/v1|");
      const message = new Uint8Array(context.length + 9);
      message.set(context); message.set(raw.slice(0, 9), context.length);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(9), message);
      return ok ? "offline" : "forged";
    } catch (_) { return "offline"; }
  }
  function base32url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
  }
  async function offline(body) {
    const local = await verifyLocally(body.code);
    if (local === "offline") {
      const queue = JSON.parse(localStorage.getItem(QUEUE) || "[]");
      if (queue.some((item) => item.code === body.code && item.event_id === body.event_id)) {
        show("already_admitted", TEXT.scanned_offline);
        return;
      }
      queue.push(body); localStorage.setItem(QUEUE, JSON.stringify(queue));
      show("offline", TEXT.saved_offline);
    } else {
      show(local, local === "forged" ? TEXT.forged_offline : TEXT.wrong_event_offline);
    }
    showPending();
  }
  function showPending() {
    const queue = JSON.parse(localStorage.getItem(QUEUE) || "[]");
    $("pending").hidden = queue.length === 0;
    const form = queue.length === 1 ? TEXT.pending.one : TEXT.pending.other;
    $("pending").textContent = fill(form, { n: queue.length });
  }
  async function flush() {
    const queue = JSON.parse(localStorage.getItem(QUEUE) || "[]");
    while (queue.length) {
      // Only an answer about the scan itself settles it: a verdict (2xx) or a refusal
      // of that very request (400/409/422). Logged out (401, post() returns null),
      // a missing token (403), a limit (429) or a server away (5xx) keep the queue.
      try {
        if (!(await post(queue[0]))) break;
      } catch (error) {
        if (error instanceof TypeError || !error.settles) break;
      }
      queue.shift(); localStorage.setItem(QUEUE, JSON.stringify(queue));
    }
    showPending();
  }

  // ---- counts, look-up, camera --------------------------------------------------
  async function refreshCounts() {
    if (!door) return;
    try {
      const response = await fetch(`/api/v1/events/${door.eventId}/attendance`, { credentials: "same-origin" });
      if (!response.ok) return;
      const figures = await response.json();
      $("admitted").textContent = figures.admitted;
      $("registered").textContent = figures.registered;
      // The gate's own count next to the event's.
      const mine = (figures.by_gate || []).find((row) => row.gate === door.gate);
      $("gate-admitted").textContent = mine ? mine.admitted : 0;
    } catch (_) { /* offline: keep the last figures */ }
  }

  let lookupTimer = null;
  function lookup() {
    clearTimeout(lookupTimer);
    lookupTimer = setTimeout(async () => {
      const query = $("lookup-query").value.trim();
      const list = $("lookup-results"); list.replaceChildren();
      if (query.length < 2 || looksLikeCode(query)) return;  // a code is never a query
      const response = await fetch(`/api/v1/events/${door.eventId}/attendees?q=${encodeURIComponent(query)}&${LANG}`,
        { credentials: "same-origin" });
      if (response.status === 429) {
        const item = document.createElement("li");
        item.textContent = TEXT.too_many_lookups;
        list.append(item); return;
      }
      if (!response.ok) return;
      // Rows carry masked e-mail and phone for door staff; the door shows neither.
      for (const row of await response.json()) {
        const item = document.createElement("li");
        const who = document.createElement("span");
        const status = fill(row.admitted_at ? TEXT.status_in : TEXT.status,
          { status: TEXT.statuses[row.status] || row.status });
        who.textContent = `${row.name}${row.organisation ? " · " + row.organisation : ""} ${status}`;
        const admit = document.createElement("button");
        admit.type = "button"; admit.textContent = TEXT.admit;
        admit.addEventListener("click", () => submit({ registration_id: row.registration_id }));
        item.append(who, admit); list.append(item);
      }
    }, 250);
  }

  // The camera (static/camera.js: the browser's BarcodeDetector, else zxing-wasm).
  let cameraOn = null;
  async function camera() {
    if (cameraOn) { cameraOn.stop(); cameraOn = null; return; }
    cameraOn = await window.DoorCamera.start($("video"), sighted);
  }

  function sighted(code) {
    const now = Date.now();
    // A camera sees the same code many times a second: one scan per sighting.
    // (A scanner's Enter is always a deliberate scan and is never dropped.)
    if (code === lastCode && now - lastAt < 3000) return;
    lastCode = code; lastAt = now;
    submit({ code });
  }

  // ---- undo of this device's last admission (the server allows 5 minutes) --------
  const UNDO_FOR = 5 * 60 * 1000;
  let last = null, lastTimer = null;
  function rememberAdmission(answer) {
    last = { registrationId: answer.registration_id, name: answer.attendee ? answer.attendee.name : "" };
    $("last-who").textContent = fill(TEXT.last_admitted, { name: last.name });
    $("last").hidden = false;
    clearTimeout(lastTimer);
    lastTimer = setTimeout(() => { last = null; $("last").hidden = true; }, UNDO_FOR);
  }
  async function undoLast() {
    if (!last) return;
    const undoing = last;
    try {
      const response = await fetch(`/api/v1/checkins/${undoing.registrationId}?${LANG}`, {
        method: "DELETE", credentials: "same-origin", headers: csrfHeaders() });
      if (response.status === 401) { window.location.assign(`/login?next=/scan`); return; }
      if (response.ok) {
        last = null; $("last").hidden = true;
        showWord("undone", TEXT.undone_word, TEXT.undone); refreshCounts();
        return;
      }
      const problem = await response.json().catch(() => ({}));
      show("refused", problem.detail || problem.title || TEXT.refused);
    } catch (error) { show("refused", String(error.message || error)); }
  }
  function showWord(verdict, word, message) {
    show(verdict, message); $("verdict-word").textContent = word;
  }

  // ---- a scanner typing into another input (the look-up box) ----------------------
  // A keyboard wedge types a whole code in a burst and ends with Enter; a person
  // does not. Such a burst, or a code-shaped text, in any other input of the door
  // goes to the scan, not to that input (and never into a look-up URL).
  const CODE_SHAPE = /^[A-Z2-7]{100,}=*$/;
  const BURST_GAP = 50;  // ms between keys: faster than anybody types
  const looksLikeCode = (text) => CODE_SHAPE.test(text.replace(/\s+/g, "").toUpperCase());
  function watchForScanner(input) {
    let times = [];
    input.addEventListener("keydown", (event) => {
      const now = performance.now();
      if (event.key !== "Enter") {
        if (event.key.length === 1) {
          if (times.length && now - times[times.length - 1] > BURST_GAP) times = [];
          times.push(now);
        }
        return;
      }
      const burst = times.length >= 20 && now - times[times.length - 1] <= BURST_GAP * 4;
      const text = input.value.trim();
      times = [];
      if (!text || !(burst || looksLikeCode(text))) return;
      event.preventDefault();
      clearTimeout(lookupTimer);
      input.value = "";
      if (input === $("lookup-query")) $("lookup-results").replaceChildren();
      focusInput();
      submit({ code: text });
    });
  }

  // ---- conflicts (server-rendered): those of the event being scanned ---------------
  function showConflicts() {
    let shown = 0;
    for (const item of document.querySelectorAll("#conflict-list li")) {
      item.hidden = !door || item.dataset.eventId !== String(door.eventId);
      if (!item.hidden) shown += 1;
    }
    $("conflict-count").textContent = shown;
    $("no-conflicts").hidden = shown > 0;
    $("conflicts").open = shown > 0;
  }

  // ---- wiring ---------------------------------------------------------------------
  async function start(choice) {
    door = choice;
    localStorage.setItem("door", JSON.stringify(door));
    $("setup").hidden = true; $("door").hidden = false;
    $("event-title").textContent = door.title; $("gate-name").textContent = door.gate;
    refreshCounts(); showPending(); showConflicts(); focusInput();
    try {
      const key = await (await fetch(`/api/v1/events/${door.eventId}/ticket-key`)).json();
      door.publicKey = key.public_key; localStorage.setItem("door", JSON.stringify(door));
    } catch (_) { /* keep the key we had */ }
  }

  if ($("start")) {
    $("start").addEventListener("click", () => {
      const select = $("event");
      const event = events.find((e) => String(e.id) === select.value);
      const gate = $("gate").value.trim() || "A";
      start({ eventId: event.id, title: event.title, gate });
    });
  }
  $("change").addEventListener("click", () => {
    localStorage.removeItem("door"); $("door").hidden = true; $("setup").hidden = false;
  });
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("code").value.trim();
    $("code").value = "";
    if (code) submit({ code });
  });
  $("code").addEventListener("blur", () => setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) focusInput();
  }, 50));
  $("verdict").addEventListener("click", () => { $("verdict").hidden = true; focusInput(); });
  $("lookup-query").addEventListener("input", lookup);
  for (const input of document.querySelectorAll("#door input:not(#code)")) watchForScanner(input);
  $("undo").addEventListener("click", undoLast);
  if (window.DoorCamera && window.DoorCamera.available()) {
    $("camera").hidden = false;
    $("camera").addEventListener("click", () => camera().catch((e) => show("unknown", String(e))));
  }
  window.addEventListener("online", flush);
  setInterval(() => { refreshCounts(); flush(); }, 5000);
  if (door && events.some((e) => e.id === door.eventId)) start(door);
})();
