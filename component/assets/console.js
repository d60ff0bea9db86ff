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

// The set-up page's previews (the page renders the same text server-side without script).
window.matterlinkPreview = Object.assign(window.matterlinkPreview || {}, {
  "close-preview": (prefix) => `${prefix.trim() || "CLOSED"} - Smith v Jones`,
  "name-preview": (template) => {
    const sample = {
      title: "Smith v Jones", matter_id: "M-1001", client_id: "C-100",
      client_name: "Smith Holdings", file_reference: "LIT/2024/001", matter_type: "Litigation",
    };
    if (!template.trim()) return sample.title;
    return template.replace(/\{([a-z_]+)\}/g, (all, name) => (name in sample ? sample[name] : all));
  },
});

// A control that should take effect at once: data-submit="id-of-a-submit-button" clicks that
// button when the control changes (the button itself is there for browsers without script).
document.addEventListener("DOMContentLoaded", () => {
  for (const control of document.querySelectorAll("[data-submit]")) {
    const button = document.getElementById(control.dataset.submit);
    if (button) control.addEventListener("change", () => button.click());
  }
});
