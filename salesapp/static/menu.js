// salesapp: on a phone the main menu is one row that scrolls sideways inside itself
// (app.css); the current page's entry is brought into view, not left past the edge.
(function () {
  "use strict";
  var current = document.querySelector(".menu [aria-current=page]");
  if (!current) { return; }
  var menu = current.parentElement;
  if (menu.scrollWidth > menu.clientWidth) {
    menu.scrollLeft = current.offsetLeft - (menu.clientWidth - current.offsetWidth) / 2;
  }
})();
