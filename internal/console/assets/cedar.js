// Gatehouse console: Cedar syntax highlighting for the policy and schema editors.
//
// The textarea stays the real field (its label, keyboard, validation, form submission and
// screen readers are untouched); its text is made transparent and a highlighted copy is
// drawn in a <pre aria-hidden="true"> behind it, with the same box, font and wrapping
// (console.css, "c17explain" section), kept in step on every input and scroll. Only classes
// are set, never inline styles, so the console's CSP (no 'unsafe-inline') holds. Without
// this file the editors are plain textareas.
"use strict";
(function () {
  var KEYWORDS = {
    permit: 1, forbid: 1, when: 1, unless: 1, "if": 1, then: 1, "else": 1, "in": 1, has: 1, like: 1, is: 1,
    namespace: 1, entity: 1, action: 1, appliesTo: 1, type: 1, tags: 1, "enum": 1
  };
  var VARIABLES = { principal: 1, resource: 1, context: 1 };
  var LITERALS = { "true": 1, "false": 1 };

  // tokens splits Cedar text into [class, text] pairs; class "" is plain text. It never
  // fails: anything it does not know is plain, so the copy always has the field's text.
  function tokens(src) {
    var out = [], i = 0, n = src.length, m;
    var re = {
      comment: /\/\/[^\n]*/y,
      string: /"(?:[^"\\\n]|\\.)*"?/y,
      space: /\s+/y,
      path: /[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*/y,
      number: /[0-9]+/y,
      op: /==|!=|<=|>=|&&|\|\||[!<>+\-*]/y,
      annotation: /@[A-Za-z_][A-Za-z0-9_]*/y
    };
    function at(name) {
      var r = re[name];
      r.lastIndex = i;
      return r.exec(src);
    }
    while (i < n) {
      if ((m = at("comment"))) {
        out.push(["tok-comment", m[0]]);
      } else if ((m = at("string"))) {
        out.push(["tok-string", m[0]]);
      } else if ((m = at("space"))) {
        out.push(["", m[0]]);
      } else if ((m = at("annotation"))) {
        out.push(["tok-annotation", m[0]]);
      } else if ((m = at("path"))) {
        var word = m[0], next = i + word.length;
        if (src.substr(next, 3) === '::"') {
          // An entity reference: Type::"id".
          out.push(["tok-type", word], ["tok-op", "::"]);
          i = next + 2;
          m = at("string");
          out.push(["tok-id", m[0]]);
          i += m[0].length;
          continue;
        }
        if (KEYWORDS[word]) out.push(["tok-keyword", word]);
        else if (VARIABLES[word]) out.push(["tok-var", word]);
        else if (LITERALS[word]) out.push(["tok-literal", word]);
        else if (word.indexOf("::") >= 0 || /^[A-Z]/.test(word)) out.push(["tok-type", word]);
        else out.push(["", word]);
      } else if ((m = at("number"))) {
        out.push(["tok-number", m[0]]);
      } else if ((m = at("op"))) {
        out.push(["tok-op", m[0]]);
      } else {
        out.push(["", src.charAt(i)]);
        i++;
        continue;
      }
      i += m[0].length;
    }
    return out;
  }

  // paint replaces el's content with the highlighted text (text nodes and spans: nothing is
  // parsed as HTML).
  function paint(el, text) {
    var frag = document.createDocumentFragment();
    tokens(text).forEach(function (t) {
      if (!t[0]) {
        frag.appendChild(document.createTextNode(t[1]));
        return;
      }
      var s = document.createElement("span");
      s.className = t[0];
      s.textContent = t[1];
      frag.appendChild(s);
    });
    el.replaceChildren(frag);
  }

  function editor(ta) {
    var wrap = document.createElement("div");
    wrap.className = "cedar-editor";
    var pre = document.createElement("pre");
    pre.className = "cedar-hl";
    pre.setAttribute("aria-hidden", "true");
    var code = document.createElement("code");
    pre.appendChild(code);
    // Moving the field drops its focus (console.js may have put it on an invalid editor,
    // at the error's position): keep both.
    var focused = document.activeElement === ta, start = ta.selectionStart, end = ta.selectionEnd;
    ta.parentNode.insertBefore(wrap, ta);
    wrap.appendChild(pre);
    wrap.appendChild(ta);
    if (focused) {
      ta.focus();
      ta.setSelectionRange(start, end);
    }
    ta.classList.add("cedar-input");
    var queued = false;
    function sync() {
      pre.scrollTop = ta.scrollTop;
      pre.scrollLeft = ta.scrollLeft;
    }
    function render() {
      queued = false;
      // A final newline in a textarea opens a line the pre would not show without text on it.
      paint(code, ta.value + "\n");
      sync();
    }
    ta.addEventListener("input", function () {
      if (!queued) {
        queued = true;
        requestAnimationFrame(render);
      }
    });
    ta.addEventListener("scroll", sync);
    // The field's size changes with its resize handle and the window: the copy fills the
    // same wrapper, so only the scroll position needs following.
    if (window.ResizeObserver) new ResizeObserver(sync).observe(ta);
    render();
    // Values set by scripts (tests, the browser restoring a form) fire no input event.
    ta.form && ta.form.addEventListener("reset", function () { setTimeout(render, 0); });
    ta.cedarRender = render;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('textarea[data-validate="policy"], textarea[data-validate="schema"], textarea[data-validate="template"], textarea[data-cedar]')
      .forEach(editor);
    // Policy texts shown read-only (determining policies, the explanation, the policy and
    // template lists) are painted too.
    document.querySelectorAll(".determining pre.code, .explain-policy pre.code, #policies pre.snippet, #templates pre.snippet, pre.cedar").forEach(function (p) {
      p.classList.add("cedar-static");
      paint(p, p.textContent);
    });
    document.documentElement.dataset.cedar = "1";
  });
})();
