// salesapp's service worker, served at /sw.js by salesapp/pwa.py (which fills in the
// cache version, a digest of the static files, and the list of them to precache).
// Static files: cache first, from a cache named by that version, so a deployment that
// changes any file installs a new worker and the old cache is dropped. Pages and API
// answers: never cached, never answered from a cache (they are no-store; the server,
// and the cart it holds, is the truth). Selling offline is not offered.
"use strict";

var CACHE = "salesapp-static-__CACHE_VERSION__";
var PRECACHE = ["__PRECACHE__"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(PRECACHE); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("salesapp-static-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin ||
      url.pathname.indexOf("/static/") !== 0) {
    return; // the network, as without a worker
  }
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
      });
    })
  );
});
