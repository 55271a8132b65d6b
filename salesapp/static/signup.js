// The sign-up form's subdomain check (salesapp/public/signup_views.py): as one types,
// ask /signup/check and say whether the subdomain is available, taken, reserved or
// malformed. The server checks again on submit; this only saves a round trip.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("signup-form");
    var input = document.getElementById("subdomain");
    var out = document.getElementById("subdomain-check");
    if (!form || !input || !out) return;
    var timer = null;
    var asked = 0;
    function check() {
      var value = input.value.trim().toLowerCase();
      if (!value) { out.textContent = ""; return; }
      var mine = ++asked;
      var url = form.dataset.checkUrl + "?subdomain=" + encodeURIComponent(value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (res) { return res.json(); })
        .then(function (answer) {
          if (mine !== asked) return; // an older answer, overtaken
          out.textContent = answer.message;
          out.dataset.status = answer.status;
          out.className = answer.status === "available" ? "muted" : "field-error";
        })
        .catch(function () { out.textContent = ""; });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
    if (input.value) check();
  });
})();
