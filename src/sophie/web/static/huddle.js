// The huddle board reloads itself when the ledger changes (another process ran a cycle,
// someone acted on a task). It asks for a cheap version number every two seconds.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="sophie-version"]');
  var live = document.getElementById("live");
  if (!meta) { return; }
  var shown = meta.getAttribute("content");
  function check() {
    fetch("/api/v1/version", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (live) { live.classList.toggle("stale", !body); }
        if (body && body.version !== shown) { window.location.reload(); }
      })
      .catch(function () { if (live) { live.classList.add("stale"); } });
  }
  setInterval(check, 2000);
})();
