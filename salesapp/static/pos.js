// salesapp point of sale: small conveniences on top of forms that work without script.
// Enter needs no script: each form's first submit button is its default action (the
// cart form's is a hidden "Update cart"), so Enter recalculates and never removes a
// line. Here:
// - the focus: in the price/weight prompt when the till asks, in the approver's PIN when
//   a discount waits for approval, else back in the scan box
//   after each change, ready for the next barcode, unless the cashier typed elsewhere;
// - scans without a page load: the scan form (a scan, a typed code, a tile) is sent
//   with fetch() and the header X-Till-Fragment: cart. An answer carrying that header
//   is the cart alone (templates/sales/_cart.jinja2), swapped in place. Anything else
//   (search results, a price/weight prompt, an error) is shown as the page it is: a
//   redirect is followed, an error page replaces the page's <main>. Scans are sent one
//   at a time, in order, and the scan box is cleared as soon as one is sent, so a
//   scanner may go on while the till answers;
// - a quick-tender button fills its amount in without a round trip when the amount is
//   a number.
// Listeners sit on the document, so they outlive the parts of the page they replace.
(function () {
  "use strict";
  var HEADER = "X-Till-Fragment"; // sent to ask for the cart alone; on an answer that is it
  var CART = "cart";

  function byId(id) { return document.getElementById(id); }

  function focusField() {
    var ask = document.querySelector("#ask-form input:not([type=hidden])");
    var code = byId("code");
    // a discount waiting for approval: the approver's PIN is what is typed next
    var target = ask || byId("approve_pin") || code;
    if (!target) { return; }
    if (target === code && document.activeElement &&
        document.activeElement.matches("input:not(#code), select, textarea")) {
      return;
    }
    target.focus();
    target.select();
  }

  focusField();

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#cart-form button[name=tender]");
    if (!button) { return; }
    var parts = button.value.split(":");
    var field = byId("pay_" + parts[0]);
    if (field && /^[0-9]+(\.[0-9]+)?$/.test(parts[1])) {
      event.preventDefault();
      field.value = parts[1];
      field.focus();
    }
  });

  if (!window.fetch || !window.URLSearchParams || !window.DOMParser) { return; }

  var queue = [];
  var sending = false;
  var shown = null; // the first answer that is not the cart: shown once the queue is done

  // the cart as the server answers it, keeping what the cashier typed meanwhile (a
  // payment, a quantity: lines keep their places when one is added) and the focus
  function swapCart(html) {
    var section = document.querySelector(".pos-cart");
    if (!section) { return; }
    var typed = {};
    section.querySelectorAll("input[name]:not([type=hidden])").forEach(function (input) {
      if (input.value !== input.defaultValue) { typed[input.name] = input.value; }
    });
    var active = document.activeElement;
    var focused = active && section.contains(active) ? active.name : null;
    section.innerHTML = html;
    section.querySelectorAll("input[name]:not([type=hidden])").forEach(function (input) {
      if (typed.hasOwnProperty(input.name)) { input.value = typed[input.name]; }
      if (input.name === focused) { input.focus(); }
    });
    // search results, a "no such product" and the prompt are stale once a scan is added
    document.querySelectorAll("[data-till-transient], #ask-form").forEach(function (el) {
      el.remove();
    });
    if (/[?&](q|ask)=/.test(location.search)) {
      var category = new URLSearchParams(location.search).get("category");
      history.replaceState(null, "", location.pathname +
        (category ? "?category=" + encodeURIComponent(category) : ""));
    }
  }

  function showPage(html) {
    var main = new DOMParser().parseFromString(html, "text/html").querySelector("main");
    var here = document.querySelector("main");
    if (main && here) {
      here.replaceWith(document.adoptNode(main));
      window.scrollTo(0, 0);
      focusField();
    }
  }

  function done() {
    sending = false;
    if (queue.length) { send(); return; }
    var answer = shown;
    shown = null;
    if (answer && answer.url) {
      location.assign(answer.url);
    } else if (answer) {
      showPage(answer.html);
    } else {
      focusField();
    }
  }

  function send() {
    sending = true;
    var job = queue.shift();
    fetch(job.action, {
      method: "POST",
      body: job.body,
      headers: [[HEADER, CART]],
      credentials: "same-origin"
    }).then(function (response) {
      return response.text().then(function (html) {
        if (response.headers.get(HEADER) === CART) {
          swapCart(html);
        } else if (!shown) {
          shown = response.redirected ? { url: response.url } : { html: html };
        }
      });
    }).catch(function () {
      // no answer (the network dropped): put the code back, to be sent again
      var code = byId("code");
      if (code && !code.value) { code.value = job.code; }
    }).then(done);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "scan-form" || event.defaultPrevented) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var code = byId("code");
    queue.push({ action: form.action, body: new URLSearchParams(data), code: data.get("code") });
    if (code) { code.value = ""; }
    if (!sending) { send(); }
  });
})();
