// The console works without this script; it only adds conveniences where a page asks for them
// with data- attributes. Loaded from the console itself ('self' in the Content-Security-Policy).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A form field whose value is previewed elsewhere: data-preview="id-of-output".
  for (const input of document.querySelectorAll("[data-preview]")) {
    const out = document.getElementById(input.dataset.preview);
    if (!out) continue;
    const update = () => {
      const f = window.matterlinkPreview && window.matterlinkPreview[input.dataset.preview];
      out.textContent = f ? f(input.value) : input.value;
    };
    input.addEventListener("input", update);
  }
});
