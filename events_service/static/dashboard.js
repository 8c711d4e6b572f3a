// Live figures: the server pushes a "figures" event on every admission; no reload.
(function () {
  "use strict";
  var live = document.getElementById("live");

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) node.textContent = String(value);
  }

  function apply(figures) {
    setText("talents-value", figures.talents_reached);
    setText("talents-percent", figures.percent + "%");
    setText("admissions", figures.total_admissions);
    setText("companies-value", figures.companies);
    var bar = document.getElementById("talents-bar");
    if (bar) bar.style.width = Math.min(100, figures.percent) + "%";
    var wrap = document.getElementById("talents-bar-wrap");
    if (wrap) wrap.setAttribute("aria-valuenow", figures.talents_reached);
    Object.keys(figures.events || {}).forEach(function (id) {
      var row = document.querySelector('[data-event-id="' + id + '"]');
      if (!row) return;
      row.querySelector(".admitted").textContent = figures.events[id].admitted;
      row.querySelector(".registered").textContent = figures.events[id].registered;
    });
  }

  function connect() {
    var source = new EventSource("/api/v1/reach/stream");
    source.addEventListener("figures", function (message) {
      live.hidden = false;
      apply(JSON.parse(message.data));
    });
    source.addEventListener("heartbeat", function () { live.hidden = false; });
    // EventSource reconnects by itself; show that the numbers may be stale meanwhile.
    source.onerror = function () { live.hidden = true; };
  }

  if (window.EventSource) connect();
})();
