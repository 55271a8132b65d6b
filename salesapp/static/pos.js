// salesapp point of sale: small conveniences on top of forms that work without script.
// Enter in a quantity or discount field updates the cart instead of completing the sale;
// after each change the scan field takes the focus back, ready for the next barcode.
(function () {
  "use strict";
  var cart = document.getElementById("cart-form");
  if (cart) {
    cart.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.classList.contains("qty")) {
        event.preventDefault();
        cart.submit();
      }
    });
  }
  var code = document.getElementById("code");
  if (code && !document.activeElement.matches("input:not(#code)")) {
    code.focus();
    code.select();
  }
})();
