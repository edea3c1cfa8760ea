// Gatehouse console: small conveniences only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Ctrl+Enter (Cmd+Enter) in a code editor submits its form.
  document.querySelectorAll("textarea.code").forEach(function (ta) {
    ta.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && ta.form) {
        e.preventDefault();
        ta.form.requestSubmit();
      }
    });
  });
  // Move the keyboard focus to the first field an error names.
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) {
    bad.focus();
    var err = document.querySelector(".error[role=alert]");
    var m = err && /line (\d+), column (\d+)/.exec(err.textContent);
    if (m && bad.tagName === "TEXTAREA") {
      // Put the caret at the reported line and column.
      var lines = bad.value.split("\n"), pos = 0, line = parseInt(m[1], 10), col = parseInt(m[2], 10);
      for (var i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
      pos += Math.max(0, col - 1);
      bad.setSelectionRange(pos, pos);
    }
  }
});
