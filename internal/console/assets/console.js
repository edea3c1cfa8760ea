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

// Validation as you type: a schema or policy editor (data-validate) asks the server, which
// runs the same parsers and schema checks as the write, 400 ms after the last keystroke.
document.addEventListener("DOMContentLoaded", function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) return;
  document.querySelectorAll("textarea[data-validate]").forEach(function (ta) {
    var out = document.getElementById(ta.getAttribute("aria-describedby").split(" ")[0]);
    var timer = null, seq = 0;
    ta.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch("/console/stores/" + encodeURIComponent(ta.dataset.store) + "/validate", {
          method: "POST",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": meta.content},
          body: JSON.stringify({kind: ta.dataset.validate, text: ta.value}),
          credentials: "same-origin"
        }).then(function (r) { return r.json(); }).then(function (res) {
          if (mine !== seq) return; // a newer check is on its way
          out.className = "live " + (res.ok ? "ok" : "error");
          out.textContent = res.ok ? "Valid." :
            res.message + (res.line ? " (line " + res.line + ", column " + res.column + ")" : "");
          ta.setAttribute("aria-invalid", res.ok ? "false" : "true");
        }).catch(function () { out.textContent = ""; });
      }, 400);
    });
  });
  // Tests wait for this before typing: the listeners above are in place.
  document.documentElement.dataset.ready = "1";
});
