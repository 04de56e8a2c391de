// The conversation on screen: the messages the panel knows (state.items), drawn into
// #messages in place, with "Sent"/"Read" and sending statuses, the agent's typing, the
// read receipts the visitor sends, and the unread count the launcher shows. Customer and
// agent text is only ever set with textContent, never parsed as HTML.

import { api } from "./api.js";
import { tellUnread } from "./parent.js";
import { $, state } from "./state.js";

const AGENT_TYPING_MS = 8000; // an agent's "typing" that is not renewed goes away

// A message being sent is known by its client_id until the server numbers it, so the
// server's copy replaces it in place.
const keyOf = (m) => (m.client_id ? `c:${m.client_id}` : `m:${m.id}`);

export function fromAgent(m) {
  return m.seq != null && m.direction === "outbound" && m.sender !== "system";
}

export function clearMessages() {
  state.items.clear();
  state.lastSeq = 0;
  state.eventSeq = null;
  state.agentReadSeq = 0;
  state.readSeq = 0;
  state.closed = false;
  render();
}

export function accept(message) {
  const key = keyOf(message);
  const known = state.items.get(key);
  state.items.set(key, { ...message, key, order: known?.order ?? state.order++ });
}

// A page of GET widget/messages.
export function merge(page) {
  for (const message of page.messages) {
    accept(message);
    state.lastSeq = Math.max(state.lastSeq, message.seq);
    if (fromAgent(message) && message.sender === "agent") agentTyping(false);
  }
  state.agentReadSeq = Math.max(state.agentReadSeq, page.agent_read_seq ?? 0);
  if (page.state) state.closed = page.state === "closed";
}

// --- drawing -------------------------------------------------------------------------

const elements = new Map(); // item key → its <li>

function ordered() {
  const items = [...state.items.values()];
  const sent = items.filter((m) => m.seq != null).sort((a, b) => a.seq - b.seq);
  const pending = items.filter((m) => m.seq == null).sort((a, b) => a.order - b.order);
  return [...sent, ...pending];
}

function when(iso) {
  const date = new Date(iso);
  const today = date.toDateString() === new Date().toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text; // no needless announcements
}

function build() {
  const li = document.createElement("li");
  const who = document.createElement("span");
  who.className = "who";
  const text = document.createElement("p");
  text.className = "text";
  text.dir = "auto"; // right-to-left scripts run right to left
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = document.createElement("time");
  const status = document.createElement("span");
  status.className = "status";
  // Its clicks are composer.js's (one listener on the list), which sends the message again.
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "retry";
  retry.textContent = "Try again";
  retry.hidden = true;
  meta.append(time, status, retry);
  li.append(who, text, meta);
  return li;
}

function fill(li, item, previous, statusText) {
  li.dataset.key = item.key;
  if (item.id) li.dataset.id = item.id;
  if (item.seq != null) li.dataset.seq = String(item.seq);
  li.className = `message ${item.sender ?? "agent"}${item.pending ? ` ${item.pending}` : ""}`;
  const [who, text, meta] = li.children;
  const [time, status, retry] = meta.children;
  let name;
  if (item.sender === "you") name = "You";
  else if (item.sender === "system") name = "";
  else name = item.sender_name || (item.sender === "bot" ? "Assistant" : "Agent");
  setText(who, name);
  // The name shows above the first of a run of messages from one sender; screen readers
  // always hear it.
  // A chat closed and begun again: a divider where the new session starts.
  const newSession = Boolean(
    previous?.session_id && item.session_id && previous.session_id !== item.session_id,
  );
  li.classList.toggle("new-session", newSession);
  const sameSender =
    !newSession &&
    previous &&
    previous.sender === item.sender &&
    previous.sender_name === item.sender_name;
  who.classList.toggle("visually-hidden", item.sender === "you" || Boolean(sameSender));
  setText(text, item.text ?? "");
  time.dateTime = item.created_at ?? "";
  setText(time, item.created_at ? when(item.created_at) : "");
  setText(status, statusText);
  status.hidden = !statusText;
  retry.hidden = item.pending !== "failed";
}

function statusOf(item, lastOwn) {
  if (item.pending === "sending") return "Sending…";
  if (item.pending === "waiting") return "Waiting for the network…";
  if (item.pending === "failed") return "Not sent.";
  if (item !== lastOwn) return "";
  return item.seq <= state.agentReadSeq ? "Read" : "Sent";
}

export function render() {
  const list = $("messages");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  const items = ordered();
  const lastOwn = items.findLast((m) => m.sender === "you" && m.seq != null);
  const keep = new Set();
  items.forEach((item, index) => {
    let li = elements.get(item.key);
    if (!li) {
      li = build();
      elements.set(item.key, li);
    }
    keep.add(item.key);
    fill(li, item, items[index - 1], item.sender === "you" ? statusOf(item, lastOwn) : "");
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
  });
  for (const [key, li] of elements) {
    if (!keep.has(key)) {
      li.remove();
      elements.delete(key);
    }
  }
  $("ended").hidden = !state.closed;
  // The pre-chat name: only before an anonymous visitor's first message, and optional.
  $("prechat").hidden = Boolean(
    state.identity || state.named || state.token || items.length || state.identityFailed,
  );
  $("agent").hidden = !state.agentName || state.closed;
  setText($("agent"), state.agentName ? `You're chatting with ${state.agentName}` : "");
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// After anything that changes what the visitor sees: draw it, send the read receipt if
// they can see it, and tell the launcher the unread count when it changes.
export function afterChange(scroll = false) {
  const fromAgents = [...state.items.values()].filter(fromAgent).sort((a, b) => a.seq - b.seq);
  // Only who answered in this session: after a transfer or a close, an earlier agent's
  // name would promise someone who is no longer there.
  const session = ordered().findLast((m) => m.session_id)?.session_id;
  const lastAgentName = fromAgents
    .filter((m) => m.sender === "agent" && m.sender_name && m.session_id === session)
    .at(-1)?.sender_name;
  state.agentName = lastAgentName ?? null;
  render();
  if (scroll) $("log").scrollTop = $("log").scrollHeight;
  const lastAgent = fromAgents.at(-1)?.seq ?? 0;
  const seeing = state.open && document.visibilityState === "visible";
  if (seeing && lastAgent > state.readSeq && state.token) markRead();
  const unread = [...state.items.values()].filter(
    (m) => fromAgent(m) && m.seq > state.readSeq && m.status !== "read",
  ).length;
  if (unread !== state.unreadSent) {
    state.unreadSent = unread;
    tellUnread(unread);
  }
}

function markRead() {
  const upTo = [...state.items.values()].reduce((a, m) => Math.max(a, m.seq ?? 0), 0);
  if (upTo <= state.readSeq) return;
  state.readSeq = upTo;
  api("widget/read", { method: "POST", body: { up_to_seq: upTo } }).catch(() => {
    // A lost receipt only leaves the agent's "read" behind; the next one catches up.
  });
}

let agentTypingTimer = null;

export function agentTyping(active, name) {
  clearTimeout(agentTypingTimer);
  if (name) state.agentName = name;
  if (active) {
    setText($("typing"), `${name || state.agentName || "An agent"} is typing…`);
    agentTypingTimer = setTimeout(() => agentTyping(false), AGENT_TYPING_MS);
  } else {
    setText($("typing"), "");
  }
}
