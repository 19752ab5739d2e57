// hookgate console: small progressive enhancements. Every page works without this script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Times: the server writes UTC; show them in the browser's zone.
  for (const element of document.querySelectorAll("time[datetime]")) {
    const when = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      element.title = element.textContent;
      element.textContent = when.toLocaleString();
    }
  }

  // Copy buttons (hidden without JavaScript).
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        window.getSelection().selectAllChildren(source);
        button.textContent = "Selected";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }

  // Confirmation for buttons that change something hard to undo.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }

  // Selects that reload their (GET) form when changed.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }

  // Live preview of a format template on the provider's sample.
  const template = document.getElementById("template");
  const preview = document.getElementById("preview");
  if (template && preview) {
    preview.hidden = false;
    const output = document.getElementById("preview-output");
    const event = document.getElementById("preview-event");
    const form = template.form;
    let timer = null;
    const render = async () => {
      if (!template.value.trim()) {
        output.textContent = "Type a template to see it rendered.";
        return;
      }
      const body = new URLSearchParams({
        csrf: form.elements.csrf.value,
        provider: form.elements.provider.value,
        name: form.elements.name.value,
        event: event.value,
        template: template.value,
      });
      try {
        const answer = await fetch("/ui/sources/preview", { method: "POST", body });
        const result = await answer.json();
        if (result.error) {
          output.textContent = result.error;
        } else if (result.message.embeds.length) {
          output.textContent = JSON.stringify(result.message, null, 2);
        } else {
          output.textContent = result.message.text;
        }
      } catch (error) {
        output.textContent = "Preview failed: " + error;
      }
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(render, 250); };
    template.addEventListener("input", later);
    event.addEventListener("change", render);
    const preferred = [...event.options].find((option) => option.value === "repo:push");
    if (preferred) event.value = preferred.value;
    render();
  }
});
