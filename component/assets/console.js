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

// A backfill's page (form[data-backfill-step]): posts the next step again and again, with the
// form's CSRF token, and shows the counts as they come; reloads when the job is done, for the
// report's link. Without this script the form's Continue button runs one step at a time.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-backfill-step]");
  const box = document.getElementById("backfill-progress");
  if (!form || !box) return;
  const button = form.querySelector("button");
  const show = (data) => {
    for (const [name, value] of Object.entries(data.progress)) {
      const el = box.querySelector(`[data-count="${name}"]`);
      if (el) el.textContent = String(value);
    }
    const bar = box.querySelector("progress");
    if (bar) bar.value = data.progress.done;
  };
  const run = async () => {
    if (button) button.disabled = true;
    for (;;) {
      let data;
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          headers: { "accept": "application/json", "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(new FormData(form)),
          credentials: "same-origin",
        });
        data = await answer.json();
      } catch (e) {
        data = { error: "network", message: String(e) };
      }
      if (data.error) {
        // Stop and let the person continue by hand; the reason shows in the status line.
        if (button) button.disabled = false;
        box.insertAdjacentHTML("beforeend", '<p class="field-error"></p>');
        box.lastElementChild.textContent = `Stopped: ${data.message || data.error}`;
        return;
      }
      show(data);
      if (data.finished) {
        window.location.reload();
        return;
      }
      if (data.busy) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  run();
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
