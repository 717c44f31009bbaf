// Live scan progress on a cluster page: while the newest scan is queued or running, poll its
// state and show it; when it finishes, reload so the page shows the new results. Without
// JavaScript the page shows the state it was rendered with (reload to update).
(function () {
  "use strict";
  var el = document.getElementById("scan-status");
  if (!el) { return; }
  var url = el.getAttribute("data-url");
  var wasActive = el.getAttribute("data-active") === "true";
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        el.textContent = s.text;
        el.className = "state state-" + s.state;
        el.setAttribute("data-active", s.active ? "true" : "false");
        if (s.active) {
          wasActive = true;
          setTimeout(poll, 1000);
        } else if (wasActive) {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (wasActive) { poll(); }
})();
