// Judge pages: log in, autosave drafts, submit. No framework; works on a phone.
// Every word shown comes from the page (#judge-words), translated into its language.
"use strict";

(function () {
  const source = document.getElementById("judge-words");
  const WORDS = source ? JSON.parse(source.textContent) : {};
  const LANG = document.documentElement.lang || undefined;

  // The page's words, with {name} placeholders filled in.
  function say(key, values) {
    const text = typeof WORDS[key] === "string" ? WORDS[key] : key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      values && name in values ? String(values[name]) : whole);
  }

  // Why the server refused, in the page's words (the API's own detail is English).
  async function reason(response) {
    const problem = await response.json().catch(() => ({}));
    const type = problem.type || "";
    if (response.status === 401) return say("logged_out");
    if (response.status === 404) return say("not_yours");
    if (response.status === 422) return say("invalid");
    if (type.endsWith("/sheet-submitted")) return say("sheet_submitted");
    if (response.status === 409 && problem.round_status) return say("round_not_open");
    if (response.status === 409) {
      const opens = (document.querySelector("[data-opens-at]") || {}).dataset || {};
      const early = opens.opensAt && Date.now() < Date.parse(opens.opensAt);
      const key = early ? "not_yet_open" : "window_closed";
      if (WORDS[key]) return say(key);
      return say("round_not_open");
    }
    return say("server", { status: response.status });
  }

  // Cookie-authenticated writes carry the CSRF token the page was served with.
  function csrfHeaders() {
    const found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? { "x-csrftoken": decodeURIComponent(found[1]) } : {};
  }

  const login = document.getElementById("login");
  if (login) {
    login.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("login-error");
      error.hidden = true;
      const body = {
        email: login.elements.email.value,
        password: login.elements.password.value,
      };
      let response;
      try {
        response = await fetch("/api/v1/auth/login", {
          method: "POST",
          headers: { "Content-Type": "application/json", ...csrfHeaders() },
          credentials: "same-origin",
          body: JSON.stringify(body),
        });
      } catch (failure) {
        error.textContent = say("offline");
        error.hidden = false;
        return;
      }
      if (response.ok) {
        // The HttpOnly cookie set by the response authenticates the pages.
        window.location.assign(login.dataset.next || "/judge");
        return;
      }
      error.textContent =
        response.status === 401 ? say("login_refused")
          : response.status === 429 ? say("too_many")
            : say("login_failed");
      error.hidden = false;
    });
  }

  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      // Revokes the token server-side and clears the cookie: safe on a shared device.
      await fetch("/api/v1/auth/logout", {
        method: "POST", credentials: "same-origin", headers: csrfHeaders(),
      });
      window.location.assign("/judge/login");
    });
  }

  const sheet = document.getElementById("sheet");
  if (!sheet) return;
  const state = document.getElementById("state");
  const id = sheet.dataset.assignment;
  let timer = null;
  let inFlight = Promise.resolve();
  let locked = Boolean(sheet.dataset.locked);

  // A criterion's value as typed: a tapped button, or the compact number field.
  function chosen(section) {
    const checked = section.querySelector("input[type=radio]:checked");
    const field = section.querySelector("input.score");
    return checked ? checked.value : field ? field.value.trim() : "";
  }

  // The sheet's weighted total, by the service's formula (ranking.weighted_total):
  // the sum of weight x value over the sum of the weights, once every criterion has a value.
  const total = document.getElementById("total");
  const totalHint = document.getElementById("total-hint");
  function showTotal() {
    if (!total) return;
    let weighted = 0;
    let weights = 0;
    let complete = true;
    for (const section of sheet.querySelectorAll("[data-criterion]")) {
      const value = chosen(section);
      const weight = Number(section.dataset.weight);
      if (value === "" || !Number.isFinite(Number(value))) complete = false;
      else weighted += weight * Number(value);
      weights += weight;
    }
    const value = complete && weights > 0 ? weighted / weights : null;
    total.dataset.value = value === null ? "" : String(value);
    total.textContent = value === null ? "–"
      : value.toLocaleString(LANG, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (totalHint) totalHint.hidden = value !== null;
  }

  function collect() {
    const scores = [];
    for (const section of sheet.querySelectorAll("[data-criterion]")) {
      const cid = Number(section.dataset.criterion);
      const value = chosen(section);
      const note = section.querySelector("input.note").value.trim();
      if (value !== "") scores.push({ criterion_id: cid, value: value, comment: note });
      section.classList.toggle("missing", value === "");
    }
    return scores;
  }

  // A failed fetch (no network) is a TypeError with the browser's English words.
  function message(error) {
    return error instanceof TypeError ? say("offline") : error.message;
  }

  function show(text, kind) {
    state.textContent = text;
    state.className = "state " + (kind || "");
  }

  async function put(submit) {
    const response = await fetch(`/api/v1/judge/assignments/${id}/scores`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", ...csrfHeaders() },
      credentials: "same-origin",
      // keepalive: a save started as the judge leaves the page still arrives.
      keepalive: true,
      body: JSON.stringify({ scores: collect(), submit: submit }),
    });
    if (response.ok) return response.json();
    throw new Error(await reason(response));
  }

  function lock(text) {
    locked = true;
    sheet.querySelector("fieldset").disabled = true;
    sheet.dataset.locked = "1";
    show(text, "submitted");
  }

  function save() {
    if (locked) return inFlight;
    show(say("saving"), "saving");
    // One request at a time, in order: the last change is the one that stays.
    inFlight = inFlight
      .then(() => put(false))
      .then(() => {
        const at = new Date().toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" });
        show(say("saved_at", { time: at }), "saved");
      })
      .catch((error) => show(say("not_saved", { reason: message(error) }), "error"));
    return inFlight;
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      save();
    }, delay);
  }

  // A change waiting for its debounce is saved now, not dropped.
  function flush() {
    if (timer === null) return inFlight;
    clearTimeout(timer);
    timer = null;
    return save();
  }

  sheet.addEventListener("change", () => schedule(300));
  sheet.addEventListener("input", (event) => {
    if (event.target.classList.contains("note")) schedule(800);
    if (event.target.classList.contains("score")) {
      showTotal();
      schedule(800);
    }
  });
  sheet.addEventListener("change", showTotal);
  showTotal();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);

  sheet.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (locked) return;
    await flush();
    const missing = sheet.querySelectorAll("[data-criterion]").length - collect().length;
    if (missing > 0) {
      // One sentence per count, each in the language's own plural form.
      show((WORDS.missing || {})[missing] || `(${missing})`, "error");
      return;
    }
    if (!window.confirm(say("confirm"))) return;
    try {
      await put(true);
      lock(say("submitted"));
    } catch (error) {
      show(say("not_submitted", { reason: message(error) }), "error");
    }
  });
})();
