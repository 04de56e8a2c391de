// The right-hand pane: the open conversation and what can be done with it, and for
// supervisors the tabs between it and the floor.

import { clearAlsoOn, initAlsoOn, renderAlsoOn } from "./also.js";
import { ApiError } from "./api.js";
import { forgetChannel, syncChannel } from "./channel.js";
import { hasReadMarkers, showDraft, stopTyping } from "./compose.js";
import { $ } from "./dom.js";
import { agentChoice } from "./format.js";
import { act, guard } from "./errors.js";
import { closeBotForm, initHandToBot, lentNotice, syncBot } from "./handbot.js";
import { markCurrent, renderLists } from "./lists.js";
import { updateTitle } from "./notify.js";
import { api, desk, isSupervisor, state } from "./state.js";
import {
  clearThread,
  customerTyping,
  hideCloseConfirm,
  paneVisible,
  renderConversation,
} from "./thread.js";

// -- the open conversation -------------------------------------------------------

export const openFromList = guard((id) => openConversation(id, { focus: true }));
// Alt+Arrow keeps the focus in the list, so the agent can keep stepping through.
const openInPlace = guard((id) => openConversation(id, { focus: false }));

async function openConversation(id, { focus }) {
  if (state.open !== id) {
    stopTyping();
    hideCloseConfirm();
    $("transfer").hidden = true;
    $("transfer-toggle").setAttribute("aria-expanded", "false");
    closeBotForm();
    $("action-error").textContent = "";
    $("pane-status").textContent = "";
    customerTyping(false);
    forgetChannel();
    clearAlsoOn();
    focusWanted = false;
    state.open = id;
    state.detail = null;
    // Until its detail arrives the pane must not show the last conversation's thread
    // under this one's name, nor offer a reply box that would send to this one.
    $("thread").replaceChildren();
    $("compose").hidden = true;
    $("thread-view").setAttribute("aria-busy", "true");
    showDraft(id);
  }
  state.attention.delete(id);
  if (isSupervisor()) showTab("conversation");
  markCurrent();
  renderLists();
  updateTitle();
  await loadOpen({ focus });
}

let openTicket = 0;
// Asked for by an open that a refresh overtook: the refresh that paints gives it.
let focusWanted = false;

/** (Re)load the open conversation; close the pane if it is no longer the agent's. */
export async function loadOpen({ focus }) {
  const id = state.open;
  if (focus) focusWanted = true;
  const ticket = ++openTicket;
  const before = state.detail?.conversation.id === id ? state.detail : null;
  let detail;
  try {
    detail = await api(`/conversations/${id}`);
  } catch (error) {
    if (ticket !== openTicket || state.open !== id) return;
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
      closePane(goneMessage(id));
      return;
    }
    throw error;
  }
  // A later open (another click, Alt+Arrow) has taken the pane.
  if (ticket !== openTicket || state.open !== id) return;
  const gone = takenAway(before, detail);
  if (gone) {
    closePane(gone);
    return;
  }
  state.detail = detail;
  // The channel's rules first, so the reply box is never offered and then taken back;
  // likewise the bot's routines for "Hand to bot".
  await Promise.all([syncChannel(detail), syncBot(detail)]);
  if (ticket !== openTicket || state.open !== id) return;
  renderConversation(detail, { rebuild: before === null });
  await renderAlsoOn(detail);
  if (ticket !== openTicket || state.open !== id) return;
  if (focusWanted) writingPlace().focus();
  focusWanted = false;
  markRead();
}

/** Where the keyboard goes in an opened conversation: where the agent would write. */
function writingPlace() {
  if (!$("template-form").hidden) return $("template-choice");
  if (!$("compose").hidden && !$("reply").disabled) return $("reply");
  return $("thread-title");
}

const mine = (c) =>
  (c.state === "assigned" && c.assigned_agent_id === state.me.id) ||
  (c.state === "inactive" && c.owner_agent_id === state.me.id);

/** Why the open conversation should leave the pane, or null if it stays. */
function takenAway(before, detail) {
  if (before === null) return null; // the agent asked to see it as it is
  const now = detail.conversation;
  // The customer's STOP closed it: it stays, to show why nothing more can be sent.
  const optedOut = detail.sessions?.at(-1)?.close_reason === "customer_opted_out";
  if (now.state === "closed" && optedOut) return null;
  if (now.state === "closed" && before.conversation.state !== "closed") {
    return "That conversation was closed.";
  }
  if (isSupervisor()) return null; // supervisors see every conversation
  // Opened to read (another channel of the customer's): it was never the agent's work.
  if (!mine(before.conversation)) return null;
  if (mine(now)) return null;
  // Lent to the bot for a routine: it comes back to this agent.
  if (now.state === "bot" && now.owner_agent_id === state.me.id) return lentNotice(now.id);
  return now.state === "queued"
    ? `That conversation went back to the ${now.queue} queue.`
    : "That conversation was reassigned.";
}

function goneMessage(id) {
  // An agent may not see a conversation while the bot has it.
  if (state.lent.has(id)) return lentNotice(id);
  return state.lastEvent.get(id) === "conversation.closed"
    ? "That conversation was closed."
    : "That conversation was reassigned.";
}

/** Close the thread pane, keeping the keyboard user somewhere sensible. */
function closePane(message) {
  const hadFocus = $("conversation-panel").contains(document.activeElement);
  stopTyping();
  state.open = null;
  state.detail = null;
  openTicket++;
  focusWanted = false;
  $("reply").value = "";
  clearThread(message);
  markCurrent();
  renderLists();
  updateTitle();
  if (hadFocus || document.activeElement === document.body) {
    ($("mine").querySelector("button") ?? $("mine-title")).focus();
  }
}

/** Tell the server the agent has seen the open conversation up to its last message. */
export function markRead() {
  const detail = state.detail;
  const c = detail?.conversation;
  if (!hasReadMarkers(c) || c.assigned_agent_id !== state.me.id || !paneVisible()) return;
  const last = detail.messages.at(-1);
  const marker = Math.max(c.agent_read_seq ?? 0, state.readPosted.get(c.id) ?? 0);
  if (!last || last.seq <= marker) return;
  state.readPosted.set(c.id, last.seq);
  api(`/conversations/${c.id}/read`, { method: "POST", body: { up_to_seq: last.seq } })
    .then(() => desk.refreshSoon()) // the list's unread count
    .catch(() => state.readPosted.delete(c.id)); // try again at the next refresh
}

// -- supervisors: floor and tabs -------------------------------------------------

export const floorActions = {
  open: (id) => openFromList(id),
  reassign: guard(async (id, agentId, button) => {
    button.disabled = true;
    try {
      await act(
        () =>
          api(`/conversations/${id}/transfer`, { method: "POST", body: { to_agent_id: agentId } }),
        $("floor-error"),
      );
    } finally {
      button.disabled = false;
    }
  }),
};

export function showTab(name) {
  $("workspace").dataset.tab = name;
  for (const tab of $("tabs").querySelectorAll("[role=tab]")) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  if (name === "conversation" && state.detail) {
    markRead();
    updateTitle();
  }
}

function tabKeys(event) {
  const tabs = [...$("tabs").querySelectorAll("[role=tab]")];
  const at = tabs.indexOf(document.activeElement);
  let next;
  if (event.key === "ArrowRight") next = tabs[(at + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(at - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs.at(-1);
  else return;
  event.preventDefault();
  showTab(next.dataset.tab);
  next.focus();
}

// -- conversation actions --------------------------------------------------------

async function transferChoices() {
  const queues = new Set();
  if (isSupervisor() && state.overview) {
    for (const q of state.overview.queues) queues.add(q.queue);
  } else {
    // Agents may not see the floor: their own queues and skills are what they know.
    for (const c of state.conversations) queues.add(c.queue);
    for (const skill of state.me.skills) queues.add(skill);
  }
  $("queue-options").replaceChildren(...[...queues].sort().map((q) => new Option(q)));
  const holder = state.detail?.conversation.assigned_agent_id;
  // Supervisors know the floor already; agents ask who is online now.
  const online =
    isSupervisor() && state.overview !== null
      ? state.overview.agents.filter((a) => a.role === "agent" && a.status === "online")
      : await api("/agents/colleagues");
  const choices = online.filter((a) => a.id !== holder);
  $("agent-choice").hidden = choices.length === 0;
  $("transfer-agent").replaceChildren(
    new Option("No agent", ""),
    ...choices.map((a) => new Option(agentChoice(a), a.id)),
  );
}

async function toggleTransfer() {
  const opening = $("transfer").hidden;
  $("transfer").hidden = !opening;
  $("transfer-toggle").setAttribute("aria-expanded", String(opening));
  if (opening) {
    $("transfer-queue").focus();
    await transferChoices();
  } else {
    $("transfer-toggle").focus();
  }
}

async function transfer(event) {
  event.preventDefault();
  const id = state.open;
  const queue = $("transfer-queue").value.trim();
  const agentId = $("agent-choice").hidden ? "" : $("transfer-agent").value;
  if (Boolean(queue) === Boolean(agentId)) {
    $("action-error").textContent = queue
      ? "Choose a queue or an agent, not both."
      : "Choose a queue or an agent.";
    return;
  }
  const body = queue ? { to_queue: queue } : { to_agent_id: agentId };
  const name = state.agents.get(agentId)?.display_name ?? "the agent";
  const target = queue ? `the ${queue} queue` : name;
  await act(async () => {
    await api(`/conversations/${id}/transfer`, { method: "POST", body });
    $("transfer-queue").value = "";
    if (state.open === id) closePane(`Transferred to ${target}.`);
  });
}

async function closeConfirmed() {
  const id = state.open;
  const who = $("thread-title").textContent;
  await act(async () => {
    await api(`/conversations/${id}/close`, { method: "POST" });
    if (state.open === id) closePane(`Closed the conversation with ${who}.`);
  });
}

async function setAside() {
  const id = state.open;
  const done = await act(() => api(`/conversations/${id}/inactive`, { method: "POST" }));
  // The button has gone with the reply box: keep the keyboard in the conversation.
  if (done && state.open === id) $("thread-title").focus();
}

function askToClose() {
  $("close").hidden = true;
  $("close-confirm").hidden = false;
  $("close-yes").focus();
}

function keepOpen() {
  hideCloseConfirm();
  $("close").focus();
}

/** Alt+Down / Alt+Up: the next or previous conversation, from anywhere in the desk. */
export function moveSelection(step) {
  const buttons = [...document.querySelectorAll("#lists li button")];
  if (!buttons.length) return;
  const current = buttons.findIndex((b) => b.dataset.id === state.open);
  const next = buttons[(current + step + buttons.length) % buttons.length];
  next.focus();
  openInPlace(next.dataset.id);
}

/** Attach the pane's buttons, forms and tabs. */
export function initPane() {
  initAlsoOn((id) => openFromList(id));
  initHandToBot(closePane);
  $("transfer-toggle").addEventListener("click", guard(toggleTransfer));
  $("transfer-cancel").addEventListener("click", guard(toggleTransfer));
  $("transfer").addEventListener("submit", guard(transfer));
  $("transfer").addEventListener("keydown", (event) => {
    if (event.key === "Escape") guard(toggleTransfer)();
  });
  $("set-aside").addEventListener("click", guard(setAside));
  $("close").addEventListener("click", askToClose);
  $("close-no").addEventListener("click", keepOpen);
  $("close-yes").addEventListener("click", guard(closeConfirmed));
  $("close-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") keepOpen();
  });
  for (const tab of $("tabs").querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  $("tabs").addEventListener("keydown", tabKeys);
}
