// Live figures: the server pushes a "figures" event on every admission; no reload.
(function () {
  "use strict";
  var live = document.getElementById("live");
  // Figures written as the server writes them (Babel): "7,200", "12.5%".
  var lang = document.documentElement.lang || "en";
  var count = new Intl.NumberFormat(lang);
  var share = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) node.textContent = String(value);
  }

  function setCount(id, value) {
    if (typeof value === "number") setText(id, count.format(value));
  }

  function apply(figures) {
    setCount("talents-value", figures.talents_reached);
    if (typeof figures.percent === "number") setText("talents-percent", share.format(figures.percent / 100));
    setCount("admissions", figures.total_admissions);
    setCount("companies-value", figures.companies);
    var bar = document.getElementById("talents-bar");
    if (bar) bar.style.width = Math.min(100, figures.percent) + "%";
    var wrap = document.getElementById("talents-bar-wrap");
    if (wrap) wrap.setAttribute("aria-valuenow", figures.talents_reached);
    Object.keys(figures.events || {}).forEach(function (id) {
      var row = document.querySelector('[data-event-id="' + id + '"]');
      if (!row) return;
      row.querySelector(".admitted").textContent = count.format(figures.events[id].admitted);
      row.querySelector(".registered").textContent = count.format(figures.events[id].registered);
    });
  }

  function connect() {
    var source = new EventSource("/api/v1/reach/stream");
    var stale = null;
    function fresh() {
      clearTimeout(stale);
      live.hidden = false;
    }
    source.addEventListener("figures", function (message) {
      fresh();
      apply(JSON.parse(message.data));
    });
    source.addEventListener("heartbeat", fresh);
    // EventSource reconnects by itself: the server ends each stream after 20 s and
    // the next one starts within a second. Only a reconnection that takes longer
    // means the numbers may be stale.
    source.onerror = function () {
      clearTimeout(stale);
      stale = setTimeout(function () { live.hidden = true; }, 5000);
    };
  }

  if (window.EventSource) connect();
})();
