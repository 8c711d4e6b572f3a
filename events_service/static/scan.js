// The door page. A keyboard-wedge scanner types the code and Enter into #code,
// which keeps the focus; a phone uses the camera where BarcodeDetector exists.
// Each verdict fills the screen with its colour and a tone, then clears itself.
// Offline first: every code is queued (IndexedDB) before it is sent; with no network
// it is judged here by the event's door bundle (signature, cancelled, waitlisted,
// already in) and stays queued until a batch sync has the server's answer, and
// answers that differ from what was shown are listed. static/door-sw.js keeps the
// page and its assets, so /scan reloads with no network.
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

  // ---- the network: "online" is a fetch that got an answer, never navigator.onLine --
  let online = true;
  function setOnline(value) {
    const changed = value !== online;
    online = value;
    const badge = $("network");
    badge.dataset.state = value ? "online" : "offline";
    badge.textContent = value ? TEXT.network.online : TEXT.network.offline;
    if (changed && value) tick();
  }
  // A fetch that gives up after `wait` ms: a Wi-Fi that hangs is no network either.
  async function reach(url, options = {}, wait = 4000) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), wait);
    try {
      const response = await fetch(url, { credentials: "same-origin", ...options, signal: abort.signal });
      setOnline(true);
      return response;
    } catch (error) {
      setOnline(false);
      throw Object.assign(new TypeError(String(error.message || error)), { network: true });
    } finally { clearTimeout(timer); }
  }

  async function post(body) {
    const response = await reach(`/api/v1/checkins?${LANG}`, {
      method: "POST", headers: { "Content-Type": "application/json", ...csrfHeaders() },
      body: JSON.stringify(body),
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
    // scanned_at: ISO 8601 with its offset (Z), as the batch sync requires.
    return { event_id: door.eventId, gate: door.gate, scan_id: crypto.randomUUID(),
             scanned_at: new Date().toISOString(), ...extra };
  }

  // A code is queued before it is sent: a reload or a dropped network mid-request
  // loses nothing (the batch sync sends it again under the same scan_id, which the
  // server answers as it answered the first time). Offline, or while older scans
  // still wait, it is judged here and stays queued; online, the answer removes it.
  async function submit(extra) {
    const body = scanBody(extra);
    if (!body.code) return submitOnline(body, false);
    await store.put("queue", { ...body, shown: null });
    const waiting = (await store.count("queue")) > 1;
    if (!online || waiting) { await judgeOffline(body); flush(); return; }
    await submitOnline(body, true);
  }

  async function submitOnline(body, queued) {
    sending.add(body.scan_id);
    try {
      const answer = await post(body);
      if (queued) await store.delete("queue", body.scan_id);
      if (answer) {
        show(answer.verdict, answer.message); refreshCounts(); learn(answer);
        if (answer.verdict === "admitted" && answer.registration_id) rememberAdmission(answer);
      }
    } catch (error) {
      if (error.network && body.code) return judgeOffline(body);
      if (queued && error.settles !== false) await store.delete("queue", body.scan_id);
      show("refused", String(error.message || error));
    } finally { sending.delete(body.scan_id); showPending(); }
  }

  // ---- the store: IndexedDB through idb (static/vendor/idb-8.0.4) ------------------
  // queue: the scans not yet answered by the server (key scan_id); bundles: the door
  // bundle per event (key event_id); changed: answers that differ from what was shown.
  const store = {
    // synced: this device's offline admissions the server took, watched in the bundle
    // (an earlier entry from another door, synced later, takes the admission over).
    db: window.idb.openDB("door", 2, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore("queue", { keyPath: "scan_id" });
          db.createObjectStore("bundles", { keyPath: "event_id" });
          db.createObjectStore("changed", { keyPath: "scan_id" });
        }
        if (oldVersion < 2) db.createObjectStore("synced", { keyPath: "scan_id" });
      },
    }),
    async put(name, value) { return (await this.db).put(name, value); },
    async get(name, key) { return (await this.db).get(name, key); },
    async delete(name, key) { return (await this.db).delete(name, key); },
    async all(name) { return (await this.db).getAll(name); },
    async count(name) { return (await this.db).count(name); },
    async clear(name) { return (await this.db).clear(name); },
  };
  const sending = new Set();  // scan ids whose single request is on its way

  // The queue of the localStorage era moves over once.
  async function adoptOldQueue() {
    const old = JSON.parse(localStorage.getItem(QUEUE) || "[]");
    for (const item of old) await store.put("queue", { ...item, shown: "offline" });
    localStorage.removeItem(QUEUE);
  }

  // ---- the door bundle: what the server knew, as the latest state per ticket ------
  let bundle = null;
  function emptyBundle(data) {
    return { event_id: data.event_id, version: 0, refused: {}, admitted: {}, names: {} };
  }
  function applyBundle(base, data) {
    // A full bundle (no `since`) replaces what was kept; a delta applies on top of it.
    const delta = data.since !== null && data.since !== undefined;
    const next = delta && base && base.event_id === data.event_id ? base : emptyBundle(data);
    Object.assign(next, {
      version: data.version, public_key: data.public_key, timezone: data.timezone,
      opens_at: data.opens_at, closes_at: data.closes_at, names_included: data.names_included,
    });
    for (const id of data.confirmed || []) delete next.refused[id];
    for (const id of data.cancelled || []) next.refused[id] = "cancelled";
    for (const id of data.waitlisted || []) next.refused[id] = "waitlisted";
    for (const id of data.undone || []) delete next.admitted[id];
    const a = data.admitted || { ids: [] };
    a.ids.forEach((id, i) => { next.admitted[id] = [a.gates[a.gate[i]], a.at[i]]; });
    const n = data.names;
    // A null name: the holder's data was erased, so the door forgets whom the ticket names.
    if (n) n.ids.forEach((id, i) => {
      next.names[id] = [n.name[i] || TEXT.erased, n.organisation[i] < 0 ? null : n.organisations[n.organisation[i]]];
    });
    return next;
  }
  async function refreshBundle() {
    if (!door) return;
    const eventId = door.eventId;
    const kept = bundle && bundle.event_id === eventId ? bundle : await store.get("bundles", eventId);
    const since = kept && kept.version ? `?since=${kept.version}` : "";
    let response;
    try { response = await reach(`/api/v1/events/${eventId}/door-bundle${since}`, {}, 8000); }
    catch (_) { bundle = kept || bundle; return; }
    if (!response.ok || !door || door.eventId !== eventId) { bundle = kept || null; return; }
    const data = await response.json();
    bundle = applyBundle(kept, data);
    door.publicKey = bundle.public_key;
    await store.put("bundles", bundle);
    await watchSynced();
  }
  // An admission of ours that the bundle now shows earlier (another door's entry,
  // synced after ours, took it over: ours became the conflict) is a changed answer.
  const WATCH_FOR = 24 * 3600 * 1000;
  async function watchSynced() {
    let found = false;
    for (const item of await store.all("synced")) {
      const mine = Date.parse(item.scanned_at) / 1000;
      if (Date.now() - mine * 1000 > WATCH_FOR) { await store.delete("synced", item.scan_id); continue; }
      if (!bundle || item.event_id !== bundle.event_id) continue;
      const held = bundle.admitted[item.registration_id];
      // The bundle's times are whole seconds: ours is held[1] === floor(mine), same gate.
      if (!held || (held[0] === item.gate && held[1] >= Math.floor(mine))) continue;
      await store.put("changed", changeOf(item, {
        conflict: true, verdict: "already_admitted", attendee: item.name ? { name: item.name } : null,
        message: fill(TEXT.admitted_earlier, { gate: held[0], time: clock(held[1]) }),
      }));
      await store.delete("synced", item.scan_id);
      found = true;
    }
    if (found) showChanged();
  }
  // What an online answer or a sync tells about a ticket joins the bundle at once.
  function learn(answer) {
    if (!bundle || !answer.registration_id) return;
    if (["admitted", "already_admitted"].includes(answer.verdict) && answer.admitted_at && answer.gate) {
      bundle.admitted[answer.registration_id] = [answer.gate, Date.parse(answer.admitted_at) / 1000];
      store.put("bundles", bundle);
    }
  }

  // ---- offline verdicts: the bundle, and what this device admitted ----------------
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
  function base32url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
  }
  // A code: version (1 byte), registration id, event id (4 bytes each), Ed25519 signature.
  async function verifySignature(raw, publicKey) {
    if (!publicKey) return true;  // no key yet: the server decides later
    try {
      const key = await crypto.subtle.importKey("raw", base32url(publicKey), { name: "Ed25519" }, false, ["verify"]);
      const context = new TextEncoder().encode("events-service/ticket/v1|");
      const message = new Uint8Array(context.length + 9);
      message.set(context); message.set(raw.slice(0, 9), context.length);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(9), message);
    } catch (_) { return true; }  // no Ed25519 in this browser: the server decides later
  }
  function clock(seconds) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (bundle && bundle.timezone) options.timeZone = bundle.timezone;
    try { return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options).format(new Date(seconds * 1000)); }
    catch (_) { return new Date(seconds * 1000).toISOString().slice(11, 16) + " UTC"; }
  }
  async function verdictHere(body) {
    const raw = base32(body.code);
    if (!raw || raw.length !== 73) return ["unknown", TEXT.forged_offline];
    const view = new DataView(raw.buffer);
    const registrationId = view.getUint32(1), eventId = view.getUint32(5);
    if (eventId !== door.eventId) return ["wrong_event", TEXT.wrong_event_offline];
    const b = bundle && bundle.event_id === door.eventId ? bundle : null;
    if (!(await verifySignature(raw, (b && b.public_key) || door.publicKey))) return ["forged", TEXT.forged_offline];
    if (!b) return ["offline", TEXT.saved_offline, registrationId];
    const now = Date.now();
    if ((b.opens_at && now < Date.parse(b.opens_at)) || (b.closes_at && now > Date.parse(b.closes_at))) {
      return ["not_open", TEXT.not_open_offline];
    }
    const refused = b.refused[registrationId];
    if (refused) return [refused, refused === "cancelled" ? TEXT.cancelled_offline : TEXT.waitlisted_offline];
    const mine = (await store.all("queue")).find((item) => item.scan_id !== body.scan_id
      && item.event_id === door.eventId && item.registration_id === registrationId && item.shown === "offline");
    const inside = mine ? [mine.gate, Date.parse(mine.scanned_at) / 1000] : b.admitted[registrationId];
    const who = b.names[registrationId];
    if (inside) {
      const said = fill(TEXT.already_in_offline, { gate: inside[0], time: clock(inside[1]) });
      return ["already_admitted", who ? `${said} ${who[0]}` : said];
    }
    if (!who) return ["offline", TEXT.saved_offline, registrationId];
    const name = who[1] ? `${who[0]} · ${who[1]}` : who[0];
    return ["offline", fill(TEXT.admitted_offline, { name }), registrationId, name];
  }
  // Only an offline admission stays queued: a refusal here let nobody in, and sent
  // later it would only count as a conflict that never happened.
  async function judgeOffline(body) {
    const [verdict, message, registrationId, name] = await verdictHere(body);
    if (verdict === "offline") {
      await store.put("queue", { ...body, shown: verdict, registration_id: registrationId, name: name || null });
    } else {
      await store.delete("queue", body.scan_id);
    }
    show(verdict, message);
    showPending();
  }

  async function showPending() {
    const count = await store.count("queue");
    $("pending").hidden = count === 0;
    const form = count === 1 ? TEXT.pending.one : TEXT.pending.other;
    const refused = $("pending").dataset.refused;
    $("pending").textContent = fill(form, { n: count }) + (refused && count ? ` · ${refused}` : "");
  }

  // ---- sync: the queue goes up in batches; each answer removes its entry -----------
  const BATCH = 500;
  let flushing = false;
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      const queue = (await store.all("queue")).filter((item) => !sending.has(item.scan_id));
      const byEvent = new Map();
      for (const item of queue) {
        if (!byEvent.has(item.event_id)) byEvent.set(item.event_id, []);
        byEvent.get(item.event_id).push(item);
      }
      for (const [eventId, items] of byEvent) {
        items.sort((x, y) => x.scanned_at.localeCompare(y.scanned_at));
        for (let at = 0; at < items.length; at += BATCH) {
          if (!(await sendBatch(eventId, items.slice(at, at + BATCH)))) return;
        }
      }
    } catch (_) { /* offline: the queue waits */ }
    finally { flushing = false; showPending(); }
  }
  async function sendBatch(eventId, items) {
    const scans = items.map(({ code, gate, scan_id, scanned_at }) => ({ code, gate, scan_id, scanned_at }));
    const response = await reach(`/api/v1/checkins/batch?${LANG}`, {
      method: "POST", headers: { "Content-Type": "application/json", ...csrfHeaders() },
      body: JSON.stringify({ event_id: eventId, scans }),
    }, 30000);
    if (response.status === 401) { window.location.assign(`/login?next=/scan`); return false; }
    if (!response.ok) {
      // The whole request refused (not one entry): nothing was answered, nothing goes.
      $("pending").dataset.refused = fill(TEXT.sync_refused, { status: response.status });
      return false;
    }
    delete $("pending").dataset.refused;
    const result = await response.json();
    const sent = new Map(items.map((item) => [item.scan_id, item]));
    for (const answer of result.answers) {
      const item = sent.get(answer.scan_id);
      if (!item) continue;
      if (differs(item, answer)) await store.put("changed", changeOf(item, answer));
      else if (answer.verdict === "admitted" && answer.registration_id) {
        await store.put("synced", { scan_id: item.scan_id, event_id: item.event_id, gate: item.gate,
          scanned_at: item.scanned_at, registration_id: answer.registration_id,
          shown: item.shown, name: (answer.attendee && answer.attendee.name) || item.name || null });
      }
      await store.delete("queue", answer.scan_id);
      learn(answer);
    }
    refreshCounts(); showChanged();
    return true;
  }
  function differs(item, answer) {
    if (item.shown === null) return answer.verdict !== "admitted";  // nothing was shown
    return answer.conflict || answer.verdict !== "admitted";
  }
  function changeOf(item, answer) {
    const who = (answer.attendee && answer.attendee.name) || item.name || TEXT.someone;
    return {
      scan_id: item.scan_id, event_id: item.event_id, at: Date.now(),
      text: fill(TEXT.changed_item, {
        who, gate: item.gate, time: clock(Date.parse(item.scanned_at) / 1000),
        shown: WORDS[item.shown || "offline"],
        now: answer.conflict ? TEXT.conflict : (WORDS[answer.verdict] || answer.verdict),
        message: answer.message || "",
      }),
      conflict: Boolean(answer.conflict),
    };
  }
  async function showChanged() {
    const rows = (await store.all("changed")).filter((row) => door && row.event_id === door.eventId)
      .sort((x, y) => y.at - x.at);
    $("changed").hidden = rows.length === 0;
    $("changed-title").textContent = fill(rows.length === 1 ? TEXT.changed.one : TEXT.changed.other, { n: rows.length });
    $("changed-list").replaceChildren(...rows.map((row) => {
      const item = document.createElement("li");
      item.textContent = row.text; item.dataset.conflict = row.conflict ? "1" : "0";
      return item;
    }));
  }
  async function clearChanged() {
    for (const row of await store.all("changed")) if (door && row.event_id === door.eventId) await store.delete("changed", row.scan_id);
    showChanged();
  }

  async function tick() {
    await flush(); await refreshBundle(); refreshCounts();
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
    last = { registrationId: answer.registration_id, name: answer.attendee ? answer.attendee.name : TEXT.erased };
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
    bundle = (await store.get("bundles", door.eventId)) || null;
    refreshCounts(); showPending(); showConflicts(); showChanged(); focusInput();
    await tick();
    if (door) localStorage.setItem("door", JSON.stringify(door));
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
    $("camera").addEventListener("click", () => camera().catch((error) => {
      console.error("camera", error);  // the technical reason, for whoever debugs the device
      show("refused", error && error.name === "NotAllowedError" ? TEXT.camera_blocked : TEXT.camera_failed);
    }));
  }
  $("changed-clear").addEventListener("click", clearChanged);
  // navigator's own word is a hint to try now, never proof of a network.
  window.addEventListener("online", tick);
  window.addEventListener("offline", () => setOnline(false));
  setOnline(true);
  // Every ~5 s: the queue up, the bundle's delta down, the counts.
  setInterval(tick, 5000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/scan-sw.js", { scope: "/scan" }).catch(() => { /* no offline reloads */ });
  }
  adoptOldQueue().finally(() => {
    if (door && events.some((e) => e.id === door.eventId)) start(door);
  });
})();
