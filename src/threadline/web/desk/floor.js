// The supervisor's floor: queues, agents, and the customers waiting past respond-by.

import { tick } from "./countdown.js";
import { $, el, reconcile } from "./dom.js";
import { agentChoice, customerLabel, statusLabel } from "./format.js";
import { api, state } from "./state.js";

function cell(text) {
  return el("td", { text });
}

/** GET /overview, plus the names of late customers not seen before (cached by id). */
export async function loadFloor() {
  const floor = await api("/overview");
  state.skew = Date.parse(floor.at) - Date.now(); // a fresher reading of the server clock
  state.agents = new Map(floor.agents.map((a) => [a.id, a]));
  const unknown = [...new Set(floor.breaching.map((c) => c.customer_id))].filter(
    (id) => !state.customers.has(id),
  );
  const found = await Promise.allSettled(unknown.map((id) => api(`/customers/${id}`)));
  found.forEach((result, i) => {
    if (result.status === "fulfilled") state.customers.set(unknown[i], result.value);
  });
  state.overview = floor;
}

function lateCustomer(c) {
  return customerLabel(state.customers.get(c.customer_id), c.channel);
}

/** actions.open(id) shows a conversation; actions.reassign(id, agentId, button). */
export function renderFloor(actions) {
  const floor = state.overview;
  if (!floor) return;
  $("queues").tBodies[0].replaceChildren(
    ...floor.queues.map((q) => {
      const row = el("tr");
      row.dataset.queue = q.queue;
      const oldest = q.oldest_respond_by ? new Date(q.oldest_respond_by).toLocaleTimeString() : "–";
      row.append(cell(q.queue), cell(String(q.waiting)), cell(String(q.returning)), cell(oldest));
      return row;
    }),
  );
  const agents = floor.agents.filter((a) => a.role === "agent");
  $("agents").tBodies[0].replaceChildren(
    ...agents.map((a) => {
      const row = el("tr");
      row.dataset.agent = a.username;
      const load = `${a.active_count}/${a.preferred_concurrency} (max ${a.max_load})`;
      row.append(cell(a.display_name), cell(statusLabel(a.status)), cell(load));
      return row;
    }),
  );
  const online = agents.filter((a) => a.status === "online");
  const late = $("breaching");
  if (floor.breaching.length === 0) {
    const none = el("li", { className: "empty", text: "Nobody is waiting past respond-by" });
    late.replaceChildren(none);
    return;
  }
  reconcile(
    late,
    floor.breaching,
    (c) => c.id,
    (c) => lateRow(c, actions),
    (item, c) => updateLateRow(item, c, online),
  );
  tick();
}

function lateRow(c, actions) {
  const item = el("li");
  item.dataset.id = c.id;
  const select = el("select", { className: "reassign-to", attrs: { "aria-label": "Reassign to" } });
  const open = el("button", { className: "open", text: "Open", attrs: { type: "button" } });
  open.addEventListener("click", () => actions.open(c.id));
  // A separate button: a <select> fires "change" on every arrow key, which must not
  // move a customer's conversation.
  const reassign = el("button", {
    className: "reassign",
    text: "Reassign",
    attrs: { type: "button" },
  });
  reassign.addEventListener("click", () => {
    if (!select.value) {
      select.focus();
      $("floor-error").textContent = "Choose an agent to reassign to.";
      return;
    }
    actions.reassign(c.id, select.value, reassign);
  });
  const name = el("strong", { className: "name" });
  const where = el("span", { className: "where" });
  const due = el("span", { className: "due" });
  item.append(
    el("span", { className: "who" }, name, where, due),
    el("span", { className: "controls" }, open, select, reassign),
  );
  return item;
}

function updateLateRow(item, c, online) {
  const who = lateCustomer(c);
  const holder = state.agents.get(c.assigned_agent_id);
  item.querySelector(".name").textContent = who;
  const where = holder ? holder.display_name : "in the queue";
  item.querySelector(".where").textContent = `${c.queue} · ${where}`;
  item.querySelector(".due").dataset.due = c.respond_by;
  item.querySelector(".open").setAttribute("aria-label", `Open ${who}'s conversation`);
  item.querySelector(".reassign").setAttribute("aria-label", `Reassign ${who}'s conversation`);
  const select = item.querySelector("select");
  const choices = online.filter((a) => a.id !== c.assigned_agent_id);
  const wanted = ["", ...choices.map((a) => a.id)].join(",");
  // Rebuilt only when the choice changes, so that a supervisor's pick is kept.
  if (select.dataset.choices !== wanted) {
    const picked = select.value;
    select.replaceChildren(
      new Option("Reassign to…", ""),
      ...choices.map((a) => new Option(agentChoice(a), a.id)),
    );
    select.value = choices.some((a) => a.id === picked) ? picked : "";
    select.dataset.choices = wanted;
  } else {
    // Loads change without the choice changing: refresh the labels in place.
    for (const option of select.options) {
      const a = state.agents.get(option.value);
      if (a) option.textContent = agentChoice(a);
    }
  }
}

export function clearFloor() {
  $("queues").tBodies[0].replaceChildren();
  $("agents").tBodies[0].replaceChildren();
  $("breaching").replaceChildren();
  $("floor-error").textContent = "";
}
