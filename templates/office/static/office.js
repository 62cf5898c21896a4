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
// Batches: a batch being issued ([data-progress] names its progress route) shows its figures
// as they change, and the page reloads once the batch is finished (its downloads appear).
// Without this script the page refreshes itself (<noscript> meta refresh) and has a link.
(function () {
  function poll(box) {
    var url = box.getAttribute("data-progress");
    function again(ms) { window.setTimeout(tick, ms); }
    function tick() {
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return again(10000); }
          if (p.finished) { window.location.reload(); return; }
          Object.keys(p.text).forEach(function (key) {
            var el = box.querySelector('[data-field="' + key + '"]');
            if (el && el.textContent !== p.text[key]) { el.textContent = p.text[key]; }
          });
          var bar = box.querySelector("progress");
          if (bar) { bar.max = Math.max(p.total, 1); bar.value = p.done; }
          again(2000);
        })
        .catch(function () { again(10000); });
    }
    again(2000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress]");
    if (box && window.fetch) { poll(box); }
  });
})();
// Batches: a file over the upload limit ([data-max-bytes]) is refused before it is sent,
// with the same words beside the field as the server would give.
document.addEventListener("submit", function (event) {
  var input = event.target.querySelector && event.target.querySelector("input[type=file][data-max-bytes]");
  if (!input || !input.files || !input.files.length) { return; }
  if (input.files[0].size <= Number(input.getAttribute("data-max-bytes"))) { return; }
  event.preventDefault();
  var id = input.id + "-error";
  var note = document.getElementById(id);
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error";
    note.id = id;
    input.parentNode.insertBefore(note, input.nextSibling);
    input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + id).trim());
  }
  note.textContent = input.getAttribute("data-too-large");
  input.setAttribute("aria-invalid", "true");
  input.focus();
});
