// The supervisor's floor: queues, agents, the customers waiting past respond-by, and
// today's figures for the bot and for notifications (notices.js).

import { tick } from "./countdown.js";
import { $, el, reconcile } from "./dom.js";
import { report } from "./errors.js";
import {
  agentChoice,
  customerLabel,
  duration,
  handoffReason,
  percent,
  sentence,
  statusLabel,
} from "./format.js";
import { clearNotices, loadNotices, renderNotices, watchNotices } from "./notices.js";
import { api, state } from "./state.js";

// The bot's figures, from the last GET /reports/bots (today so far), or why not.
let bots = { report: null, error: null };

function cell(text) {
  return el("td", { text });
}

/** GET /overview, plus the names of late customers not seen before (cached by id). */
export async function loadFloor() {
  // The reports are extra: the floor works without them (and says why not).
  const [floor, botReport] = await Promise.all([
    api("/overview"),
    api("/reports/bots").then(
      (found) => ({ report: found, error: null }),
      (error) => ({ report: null, error }),
    ),
    loadNotices(),
  ]);
  bots = botReport;
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
  renderBots();
  renderNotices();
  watchNotices();
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

// Rates are of the sessions that have ended: one still going is neither.
const rate = (value, count, ended) => `${percent(value)} (${count} of ${ended} ended)`;

function figure(name, label, value) {
  const dd = el("dd", { text: value });
  dd.dataset.figure = name;
  return [el("dt", { text: label }), dd];
}

/** Today's bot figures: how much it resolved alone, why it handed over, how long the
 * customers it handed over then waited for a person. */
function renderBots() {
  $("bot-error").textContent = "";
  const r = bots.report;
  if (!r) {
    $("bot-stats").replaceChildren();
    $("bot-reasons").tBodies[0].replaceChildren();
    if (bots.error) report(bots.error, $("bot-error"));
    return;
  }
  const wait = r.first_human_response;
  const waited =
    wait.count > 0
      ? `median ${duration(wait.p50_seconds)}, 90th percentile ${duration(wait.p90_seconds)}`
      : "—";
  const unanswered = wait.unanswered > 0 ? ` (${wait.unanswered} not answered yet)` : "";
  $("bot-stats").replaceChildren(
    ...figure("episodes", "Bot sessions", String(r.episodes)),
    ...figure("contained", "Containment rate", rate(r.containment_rate, r.contained, r.ended)),
    ...figure("escalated", "Escalation rate", rate(r.escalation_rate, r.escalated, r.ended)),
    ...figure("abandoned", "Abandoned", String(r.abandoned)),
    ...figure("first-reply", "Handoff to first human reply", waited + unanswered),
    ...figure("routines", "Routines for agents", `${r.routines} (${r.routines_returned} back)`),
  );
  const reasons = Object.entries(r.reasons ?? {})
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (reasons.length === 0) {
    const none = el("tr", {}, el("td", { text: "No handoffs", attrs: { colspan: "2" } }));
    $("bot-reasons").tBodies[0].replaceChildren(none);
    return;
  }
  $("bot-reasons").tBodies[0].replaceChildren(
    ...reasons.map(([reason, count]) => {
      const row = el("tr", {}, cell(sentence(handoffReason(reason))), cell(String(count)));
      row.dataset.reason = reason;
      return row;
    }),
  );
}

export function clearFloor() {
  bots = { report: null, error: null };
  clearNotices();
  $("bot-stats").replaceChildren();
  $("bot-reasons").tBodies[0].replaceChildren();
  $("bot-error").textContent = "";
  $("queues").tBodies[0].replaceChildren();
  $("agents").tBodies[0].replaceChildren();
  $("breaching").replaceChildren();
  $("floor-error").textContent = "";
}
