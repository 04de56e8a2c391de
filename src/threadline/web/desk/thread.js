// The thread pane: who the customer is, how sure we are of it, the messages, and which
// actions this agent may take on the conversation now.

import { clearAlsoOn } from "./also.js";
import { forgetChannel, renderRules } from "./channel.js";
import { $, el, say } from "./dom.js";
import { channelLabel, customerLabel, handoffReason, verificationLabel } from "./format.js";
import { forgetBot, renderBotControl } from "./handbot.js";
import { fingerprint, messageItem } from "./message.js";
import { isSupervisor, state } from "./state.js";

// A customer who stops typing without sending says nothing more; stop saying they type.
const CUSTOMER_TYPING_SECONDS = 8;

function daySeparator(date) {
  const item = el("li", { className: "day", text: date });
  item.dataset.day = date;
  return item;
}

// Spelled out: "3/2/2026" is a different day on each side of the Atlantic.
const DAY = { weekday: "long", day: "numeric", month: "long", year: "numeric" };
const dayOf = (m) => new Date(m.created_at).toLocaleDateString([], DAY);

/**
 * Paint the messages. Appends what is new and updates the rest in place, so the
 * agent's scroll position holds unless they were already reading the newest message.
 */
function renderMessages(messages, customer, channel, bots, rebuild) {
  const thread = $("thread");
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 48;
  const shown = [...thread.querySelectorAll("li[data-id]")];
  const samePrefix =
    !rebuild &&
    shown.length <= messages.length &&
    shown.every((li, i) => li.dataset.id === messages[i].id);
  if (!samePrefix) thread.replaceChildren();
  const start = samePrefix ? shown.length : 0;
  const undelivered = [];
  messages.slice(0, start).forEach((m, i) => {
    // A delivery status (or, on a supervisor's desk, an agent's name) may have changed.
    if (shown[i].dataset.shown === fingerprint(m, customer, channel, bots)) return;
    const item = messageItem(m, customer, channel, bots);
    if (item.classList.contains("failed") && !shown[i].classList.contains("failed")) {
      undelivered.push(item.querySelector(".delivery-error").textContent);
    }
    shown[i].replaceWith(item);
  });
  let day = start > 0 ? dayOf(messages[start - 1]) : null;
  for (const m of messages.slice(start)) {
    // A thread spans days and sessions: a separator where the day changes.
    if (dayOf(m) !== day) {
      day = dayOf(m);
      thread.append(daySeparator(day));
    }
    thread.append(messageItem(m, customer, channel, bots));
  }
  // A reply that failed while the agent looks elsewhere on the page is still heard.
  if (undelivered.length) say(`A reply was not delivered. ${undelivered.join(" ")}`);
  if (rebuild || !samePrefix || atBottom) thread.scrollTop = thread.scrollHeight;
  return messages.length > start && messages.slice(start).some((m) => m.direction === "inbound");
}

function stateText(c) {
  const me = state.me.id;
  if (c.state === "assigned") {
    if (c.assigned_agent_id === me) return "assigned to you";
    const holder = state.agents.get(c.assigned_agent_id);
    return `assigned to ${holder ? holder.display_name : "another agent"}`;
  }
  if (c.state === "queued") return `waiting in the ${c.queue} queue`;
  if (c.state === "bot") return "with the bot";
  return c.state;
}

/** Which bot wrote each of the bot's messages: the actor of its message.sent event
 * ("bot:Acme assistant"), else the bot that handed the conversation over. */
function botNames(detail) {
  const names = new Map();
  for (const e of detail.events ?? []) {
    if (e.type === "message.sent" && e.actor?.startsWith("bot:") && e.payload?.message_id) {
      names.set(e.payload.message_id, e.actor.slice("bot:".length));
    }
  }
  const handedBy = detail.conversation.handoff?.bot;
  for (const m of detail.messages) {
    if (m.sender_type === "bot" && !names.has(m.id) && handedBy) names.set(m.id, handedBy);
  }
  return names;
}

/** The agent can see the thread now: the tab is in front and the pane is shown. */
export function paneVisible() {
  return document.visibilityState === "visible" && $("thread").getClientRects().length > 0;
}

/** What the agent may do now; the server enforces it, the desk only avoids dead ends. */
function permissions(c) {
  const me = state.me.id;
  const mine = c.state === "assigned" && c.assigned_agent_id === me;
  const owner = c.state === "inactive" && c.owner_agent_id === me;
  const manage = isSupervisor() || mine || owner;
  return {
    reply: mine,
    close: manage && c.state !== "closed",
    // Setting aside frees the slot of a customer who has gone quiet; one waiting for
    // an answer must get it first (the server refuses with 409).
    setAside: manage && c.state === "assigned" && c.waiting_on !== "agent",
    // The server transfers only assigned or queued conversations.
    transfer: manage && (c.state === "assigned" || c.state === "queued"),
  };
}

function composeNote(c) {
  if (c.state === "inactive") {
    return c.owner_agent_id === state.me.id
      ? "Inactive: the customer's next message brings it back to you."
      : "Inactive.";
  }
  if (c.state === "closed") return "Closed: the customer's next message opens a new session.";
  if (c.state === "bot") return "With the bot: it answers the customer until it hands over.";
  if (c.state === "queued") {
    return `Waiting in the ${c.queue} queue: replies come from whoever takes it.`;
  }
  return `Only the assigned agent replies (${stateText(c)}).`;
}

/** Paint the pane for a GET /conversations/{id}; returns true if new customer text came. */
export function renderConversation(detail, { rebuild }) {
  const c = detail.conversation;
  const customer = customerLabel(detail.customer, c.channel);
  $("empty-hint").hidden = true;
  $("thread-view").hidden = false;
  $("thread-view").removeAttribute("aria-busy");
  $("thread-title").textContent = customer;
  $("thread-info").textContent = `${c.queue} · ${channelLabel(c.channel)} · ${stateText(c)}`;
  const level = verificationLabel(c.verification);
  $("verification").hidden = level === null;
  $("verification").textContent = level ?? "";
  $("verification").className = `badge verification ${c.verification ?? ""}`;
  // Account details only to a verified customer (DESIGN.md §7).
  $("verification-note").hidden = level === null || c.verification === "verified";
  renderHandoff(c.handoff, detail.events ?? []);
  const can = permissions(c);
  $("compose").hidden = !can.reply;
  $("compose-note").hidden = can.reply;
  $("compose-note").textContent = can.reply ? "" : composeNote(c);
  $("set-aside").hidden = !can.setAside;
  $("transfer-toggle").hidden = !can.transfer;
  if (!can.transfer) $("transfer").hidden = true;
  if (!can.close) hideCloseConfirm();
  $("close").hidden = !can.close || !$("close-confirm").hidden;
  renderBotControl(can);
  renderRules(can); // what the channel takes now may narrow the reply box further
  const fresh = renderMessages(detail.messages, customer, c.channel, botNames(detail), rebuild);
  if (fresh) customerTyping(false);
  return fresh;
}

// What a bot learned before handing over, so the customer is not asked again, and why
// it handed over (the newest handed_off event: the handoff shown is the session's last).
function renderHandoff(handoff, events) {
  $("handoff").hidden = !handoff;
  if (!handoff) return;
  const handed = events.filter((e) => e.type === "conversation.handed_off").at(-1);
  const reason = handed?.payload?.reason;
  $("handoff-reason").hidden = !reason;
  if (reason) {
    const when = handed.payload.out_of_hours ? ", after hours" : "";
    const detail = handed.payload.detail ? ` (${handed.payload.detail})` : "";
    $("handoff-reason").textContent = `Why: ${handoffReason(reason)}${detail}${when}.`;
  }
  const intent = handoff.intent ?? "no intent recognised";
  const confidence =
    handoff.confidence === null || handoff.confidence === undefined
      ? ""
      : ` (${Math.round(handoff.confidence * 100)}% sure)`;
  const bot = handoff.bot ? `${handoff.bot}: ` : "";
  $("handoff-intent").textContent = `${bot}${intent}${confidence}`;
  $("handoff-fields").replaceChildren(
    ...Object.entries(handoff.fields ?? {}).flatMap(([name, value]) => [
      el("dt", { text: name.replaceAll("_", " ") }),
      el("dd", { text: value }),
    ]),
  );
  $("handoff-summary").textContent = handoff.summary ?? "";
  $("handoff-summary").hidden = !handoff.summary;
}

export function hideCloseConfirm() {
  $("close-confirm").hidden = true;
  $("close").hidden = false;
}

let typingTimer = null;

/** The customer's typing indicator, for the open conversation only. */
export function customerTyping(on) {
  clearTimeout(typingTimer);
  $("typing-indicator").textContent = on ? "Customer is typing…" : "";
  if (on) typingTimer = setTimeout(() => customerTyping(false), CUSTOMER_TYPING_SECONDS * 1000);
}

/** Empty the pane; `message` says politely why, if it was not the agent's doing. */
export function clearThread(message = "") {
  customerTyping(false);
  $("thread-view").hidden = true;
  $("thread").replaceChildren();
  $("thread-title").textContent = "";
  $("thread-info").textContent = "";
  forgetChannel();
  forgetBot();
  clearAlsoOn();
  $("transfer").hidden = true;
  $("transfer-toggle").setAttribute("aria-expanded", "false");
  hideCloseConfirm();
  $("action-error").textContent = "";
  $("empty-hint").hidden = false;
  $("pane-status").textContent = message;
}
