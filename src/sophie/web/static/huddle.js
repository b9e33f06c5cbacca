// The huddle board reloads itself when the ledger changes (another process ran a cycle,
// someone acted on a task). It listens to the server's change stream (server-sent events);
// where that is not available, or the stream is refused, it asks for the version every two seconds.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="sophie-version"]');
  var live = document.getElementById("live");
  if (!meta) { return; }
  var shown = meta.getAttribute("content");
  var polling = null;
  function stale(flag) { if (live) { live.classList.toggle("stale", flag); } }
  function seen(version) {
    stale(false);
    if (version && version !== shown) { window.location.reload(); }
  }
  function check() {
    fetch("/api/v1/version", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { seen(body.version); } else { stale(true); } })
      .catch(function () { stale(true); });
  }
  function poll() {
    if (polling === null) { window.sophieLive = "polling"; polling = setInterval(check, 2000); }
  }
  if (!window.EventSource) { poll(); return; }
  var source = new EventSource("/api/v1/changes");
  source.addEventListener("change", function (event) { window.sophieLive = "events"; seen(event.data); });
  source.onerror = function () {
    stale(true);
    if (source.readyState === EventSource.CLOSED) { poll(); }  // refused: poll instead
  };
})();
