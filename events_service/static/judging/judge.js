// Judge pages: log in, autosave drafts, submit. No framework; works on a phone.
"use strict";

(function () {
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
      const response = await fetch("/api/v1/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...csrfHeaders() },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      if (response.ok) {
        // The HttpOnly cookie set by the response authenticates the pages.
        window.location.assign(login.dataset.next || "/judge");
        return;
      }
      const problem = await response.json().catch(() => ({}));
      error.textContent = problem.detail || "Login failed.";
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

  function collect() {
    const scores = [];
    for (const section of sheet.querySelectorAll("[data-criterion]")) {
      const cid = Number(section.dataset.criterion);
      const checked = section.querySelector("input[type=radio]:checked");
      const select = section.querySelector("select");
      const value = checked ? checked.value : select ? select.value : "";
      const note = section.querySelector("input.note").value.trim();
      if (value !== "") scores.push({ criterion_id: cid, value: value, comment: note });
      section.classList.toggle("missing", value === "");
    }
    return scores;
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
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.detail || `Error ${response.status}`);
  }

  function lock(text) {
    locked = true;
    sheet.querySelector("fieldset").disabled = true;
    sheet.dataset.locked = "1";
    show(text, "submitted");
  }

  function save() {
    if (locked) return inFlight;
    show("Saving…", "saving");
    // One request at a time, in order: the last change is the one that stays.
    inFlight = inFlight
      .then(() => put(false))
      .then(() => {
        const at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        show(`Draft saved at ${at}.`, "saved");
      })
      .catch((error) => show(`Not saved: ${error.message}`, "error"));
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
  });
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
      show(`Score every criterion before submitting (${missing} missing).`, "error");
      return;
    }
    if (!window.confirm("Submit these scores? They are final after this.")) return;
    try {
      await put(true);
      lock("Submitted — this sheet is final.");
    } catch (error) {
      show(`Not submitted: ${error.message}`, "error");
    }
  });
})();
