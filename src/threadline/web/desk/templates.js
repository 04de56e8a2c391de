// The template picker: more than 24 hours after a WhatsApp customer last wrote, only an
// approved template may go. The agent picks one, fills its numbered parameters and
// sees the text the customer will get before sending it.

import { ApiError } from "./api.js";
import { $, el } from "./dom.js";
import { api, state } from "./state.js";

let shown = null; // the templates on offer, as JSON: redrawn only when they change
let offered = [];
let hooks = { act: async () => false, refused: () => {} };

const placeholders = (text) =>
  [...new Set([...text.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1])))].sort(
    (a, b) => a - b,
  );

const chosen = () => offered[Number($("template-choice").value)] ?? null;

function parameterInputs() {
  return [...$("template-parameters").querySelectorAll("input")];
}

/** The template's text as the customer will read it; unfilled places keep {{n}}. */
function renderPreview() {
  const template = chosen();
  if (!template) {
    $("template-preview").textContent = "";
    return;
  }
  const values = new Map(parameterInputs().map((i) => [i.dataset.number, i.value]));
  $("template-preview").textContent = template.text.replace(
    /\{\{(\d+)\}\}/g,
    (whole, n) => values.get(n) || whole,
  );
}

function drawParameters() {
  const template = chosen();
  const fields = (template ? placeholders(template.text) : []).map((n) => {
    const id = `template-parameter-${n}`;
    const input = el("input", { attrs: { id, required: "", maxlength: "1024", dir: "auto" } });
    input.dataset.number = String(n);
    input.autocomplete = "off";
    const label = el("label", { text: `Value for {{${n}}}`, attrs: { for: id } });
    return el("span", { className: "field" }, label, input);
  });
  $("template-parameters").replaceChildren(...fields);
  renderPreview();
}

/** Offer `templates` ([{name, language, text, parameters}]) in place of the reply box. */
export function showTemplates(templates) {
  const json = JSON.stringify(templates);
  $("template-form").hidden = false;
  if (json === shown) return; // a refresh must not wipe what the agent typed
  shown = json;
  offered = templates;
  $("template-choice").replaceChildren(
    ...templates.map((t, i) => new Option(`${t.name} (${t.language})`, String(i))),
  );
  drawParameters();
}

export function hideTemplates() {
  $("template-form").hidden = true;
}

/** Another conversation: nothing typed for this one is offered there. */
export function forgetTemplates() {
  hideTemplates();
  shown = null;
  offered = [];
  $("template-choice").replaceChildren();
  $("template-parameters").replaceChildren();
  $("template-preview").textContent = "";
}

let sending = false;

async function send(event) {
  event.preventDefault();
  const id = state.open;
  const template = chosen();
  if (sending || !id || !template) return;
  const parameters = parameterInputs().map((i) => i.value.trim());
  if (parameters.some((p) => !p)) {
    $("action-error").textContent = "Fill in every value of the template.";
    return;
  }
  sending = true;
  $("send-template").disabled = true;
  $("template-form").setAttribute("aria-busy", "true");
  const body = { template: { name: template.name, language: template.language, parameters } };
  await hooks.act(async () => {
    try {
      await api(`/conversations/${id}/messages`, { method: "POST", body });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) hooks.refused();
      throw error; // shown with the server's words; what was typed stays
    } finally {
      sending = false;
      $("send-template").disabled = false;
      $("template-form").removeAttribute("aria-busy");
    }
    for (const input of parameterInputs()) input.value = "";
    renderPreview();
  });
}

/** `act(action)` runs an action with the desk's error handling; `refused()` on a 409. */
export function initTemplates(given) {
  hooks = given;
  $("template-choice").addEventListener("change", drawParameters);
  $("template-parameters").addEventListener("input", renderPreview);
  $("template-form").addEventListener("submit", send);
}
