// Gatehouse console: Cedar syntax highlighting for the policy and schema editors.
"use strict";
