// The office console's little progressive script (served by the issuer; the pages work
// without it): ask before a destructive form is sent, and put the keyboard focus on the
// first field a form refused, or on the first alert.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("DOMContentLoaded", function () {
  var target = document.querySelector("[aria-invalid=true]") || document.querySelector("[role=alert]");
  if (target) {
    if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }
});
