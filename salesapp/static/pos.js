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
//   a number, written as the workspace writes numbers ("20,00" in German);
// - the change due (or what is still due) follows the payments as they are typed. The
//   workspace's decimal and group signs and the currency's decimals come from the page
//   (data-decimal, data-group, data-places on the till): nothing assumes a point.
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

  // how the workspace writes numbers, from the till's data attributes (pos.jinja2)
  function numbers() {
    var till = document.querySelector(".till[data-decimal]");
    if (!till) { return null; }
    return {
      decimal: till.getAttribute("data-decimal"),
      group: till.getAttribute("data-group"),
      places: parseInt(till.getAttribute("data-places"), 10) || 0
    };
  }

  function escaped(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // an amount typed as the workspace writes it ("1.234,50", "12,5"), in the currency's
  // smallest units (cents; yen), or null when it is not one: grouping only where the
  // locale puts it, no more decimals than the currency has (the server's rules)
  function minorUnits(text, n) {
    var spaced = /^\s$/.test(n.group) || n.group === "\u00a0" || n.group === "\u202f";
    var t = spaced ? text.replace(/[\s\u00a0\u202f]/g, "") : text.trim();
    var d = escaped(n.decimal);
    var match = t.match(new RegExp("^([0-9]+)(?:" + d + "([0-9]*))?$"));
    if (!match && !spaced) {
      match = t.match(new RegExp("^([0-9]{1,3}(?:" + escaped(n.group) + "[0-9]{3})+)(?:" +
        d + "([0-9]*))?$"));
    }
    if (!match) { return null; }
    var fraction = match[2] || "";
    if (fraction.length > n.places) { return null; }
    while (fraction.length < n.places) { fraction += "0"; }
    return parseInt(match[1].split(n.group).join("") + fraction, 10);
  }

  // smallest units as the workspace writes an amount: grouped, its decimal sign
  function written(units, n) {
    var digits = String(Math.abs(units));
    while (digits.length <= n.places) { digits = "0" + digits; }
    var whole = n.places ? digits.slice(0, -n.places) : digits;
    whole = whole.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, n.group);
    return (units < 0 ? "-" : "") + whole + (n.places ? n.decimal + digits.slice(-n.places) : "");
  }

  // the change the typed payments leave, or what is still due (the server writes it
  // once payments are sent; here it follows the typing); hidden while nothing is typed
  // or something typed is not an amount (Enter then says what is wrong)
  function showChange() {
    var n = numbers();
    var total = document.querySelector("#cart-form [data-testid=total]");
    var methods = document.querySelector("#cart-form .till-methods");
    if (!n || !total || !methods) { return; }
    var due = minorUnits(total.textContent, n);
    var paid = 0;
    var typed = false;
    var bad = due === null;
    methods.querySelectorAll("input[name^=pay_]").forEach(function (input) {
      if (!input.value.trim()) { return; }
      var units = minorUnits(input.value, n);
      typed = true;
      if (units === null) { bad = true; } else { paid += units; }
    });
    var box = document.querySelector("#cart-form .till-change");
    if (!box) {
      if (bad || !typed) { return; }
      box = document.createElement("p");
      box.className = "till-change";
      box.setAttribute("aria-live", "polite");
      box.appendChild(document.createElement("span"));
      box.appendChild(document.createTextNode(" "));
      box.appendChild(document.createElement("output"));
      methods.after(box);
    }
    box.hidden = bad || !typed;
    if (box.hidden) { return; }
    box.querySelector("span").textContent = paid < due ? "Still due" : "Change";
    box.querySelector("output").textContent = written(Math.abs(paid - due), n);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("#cart-form input[name^=pay_]")) { showChange(); }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#cart-form button[name=tender]");
    if (!button) { return; }
    var parts = button.value.split(":");
    var field = byId("pay_" + parts[0]);
    var n = numbers();
    // the button's value is a plain decimal ("20.00"); the field takes the locale's
    if (field && n && /^[0-9]+(\.[0-9]+)?$/.test(parts[1])) {
      event.preventDefault();
      field.value = parts[1].replace(".", n.decimal);
      field.focus();
      showChange();
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
    showChange();
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
