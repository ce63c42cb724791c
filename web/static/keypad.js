// LPMS numeric keypad: the keys type into the last focused number field; the form is sent once
// (the button is disabled on submit; the client key makes a resend harmless anyway).
(function () {
  "use strict";
  var fields = Array.prototype.slice.call(document.querySelectorAll(".keypad-target"));
  if (!fields.length) { return; }
  var target = document.activeElement && document.activeElement.classList.contains("keypad-target")
    ? document.activeElement : fields[0];
  fields.forEach(function (f) { f.addEventListener("focus", function () { target = f; }); });
  document.querySelectorAll(".keypad .key").forEach(function (key) {
    key.addEventListener("mousedown", function (e) { e.preventDefault(); });
    key.addEventListener("click", function () {
      var k = key.getAttribute("data-key");
      if (k === "⌫") { target.value = target.value.slice(0, -1); }
      else if (k !== "." || target.value.indexOf(".") < 0) { target.value += k; }
      target.focus();
    });
  });
  document.querySelectorAll("form.report-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[type=submit]");
      if (b) { setTimeout(function () { b.disabled = true; }, 0); }
    });
  });
})();
