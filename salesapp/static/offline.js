// salesapp: installable and honest about the network (issue 17). Registers the service
// worker (its URL is this script's data-sw attribute) and shows the page's offline
// banner while the browser has no connection. While offline a form is not sent (it
// would only end on the browser's error page, losing what was typed): the banner says
// why, and the form is left as it is, to be sent once the connection is back. The
// cart itself lives on the server, so nothing of it is lost meanwhile.
(function () {
  "use strict";
  var script = document.currentScript;
  var worker = script && script.getAttribute("data-sw");
  if (worker && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(function () {});
  }

  var banner = document.getElementById("offline-banner");
  if (!banner) { return; }
  function show() { banner.hidden = navigator.onLine; }
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
  document.addEventListener("submit", function (event) {
    if (!navigator.onLine) {
      event.preventDefault();
      show();
      banner.focus();
    }
  }, true);
})();
