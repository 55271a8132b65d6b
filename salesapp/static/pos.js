// salesapp point of sale: small conveniences on top of forms that work without script.
// Enter needs no script: each form's first submit button is its default action (the
// cart form's is a hidden "Update cart"), so Enter recalculates and never removes a
// line. Here: the scan field takes the focus back after each change, ready for the
// next barcode, unless the cashier was typing elsewhere; a quick-tender button fills
// its amount in without a round trip when the amount is a number.
(function () {
  "use strict";
  var code = document.getElementById("code");
  if (code && !document.activeElement.matches("input:not(#code), select, textarea")) {
    code.focus();
    code.select();
  }
  var cart = document.getElementById("cart-form");
  if (!cart) {
    return;
  }
  cart.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=tender]");
    if (!button) {
      return;
    }
    var parts = button.value.split(":");
    var field = document.getElementById("pay_" + parts[0]);
    if (field && /^[0-9]+(\.[0-9]+)?$/.test(parts[1])) {
      event.preventDefault();
      field.value = parts[1];
      field.focus();
    }
  });
})();
