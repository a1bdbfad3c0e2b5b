// depot's only script: copy buttons, confirmation dialogs, and closing an
// open "more" menu when clicking elsewhere. Every page works without it;
// a destructive form then asks on a page of its own.
"use strict";

document.addEventListener("click", function (e) {
  var btn = e.target.closest("[data-copy]");
  if (btn) {
    var text = btn.getAttribute("data-copy");
    var done = function () {
      var label = btn.textContent;
      btn.textContent = btn.getAttribute("data-done") || "✓";
      setTimeout(function () { btn.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      try { document.execCommand("copy"); done(); } finally { ta.remove(); }
    }
    return;
  }
  document.querySelectorAll("details.menu[open]").forEach(function (d) {
    if (!d.contains(e.target)) d.removeAttribute("open");
  });
});

document.addEventListener("submit", function (e) {
  var form = e.target;
  var question = form.getAttribute("data-confirm");
  if (!question) return;
  var field = form.querySelector("input[name=confirmed]");
  if (!window.confirm(question)) {
    e.preventDefault();
    return;
  }
  if (field) field.value = "1";
});
