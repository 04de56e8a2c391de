// The agent's two lists: conversations assigned to them, and the inactive ones they
// still own. Rows are updated in place so that a refresh never takes the focus away.

import { tick } from "./countdown.js";
import { $, el, reconcile } from "./dom.js";
import { channelLabel, summaryCustomer } from "./format.js";
import { state } from "./state.js";

/** Unread customer messages: the server's count when it sends one, else our own flag. */
export function unreadOf(c) {
  if (typeof c.unread === "number") return { count: c.unread, known: true };
  return { count: state.attention.has(c.id) ? 1 : 0, known: false };
}

function fill(button, c) {
  button.setAttribute("aria-current", String(c.id === state.open));
  // Repainted only when something shown changed: less churn for screen readers, and
  // the countdown keeps its element (tick() rewrites its text every second).
  const unreadNow = c.id === state.open ? 0 : unreadOf(c).count;
  const shown = JSON.stringify([
    c.customer_name, c.queue, c.channel, c.state, c.waiting_on, c.respond_by,
    c.last_message?.direction, c.last_message?.preview, unreadNow, unreadOf(c).known,
  ]);
  if (button.dataset.shown === shown) return;
  button.dataset.shown = shown;
  const parts = [el("strong", { text: summaryCustomer(c) })];
  const unread = unreadOf(c);
  if (unread.count > 0 && c.id !== state.open) {
    // The number is what the eye needs; the words are what a screen reader says.
    const badge = unread.known
      ? el(
          "span",
          { className: "badge unread" },
          el("span", { text: String(unread.count), attrs: { "aria-hidden": "true" } }),
          el("span", { className: "visually-hidden", text: `${unread.count} unread` }),
        )
      : el("span", { className: "badge unread", text: "New" });
    parts.push(badge);
  }
  const waiting =
    c.state === "inactive"
      ? "inactive"
      : c.waiting_on === "agent"
        ? "waiting for you"
        : "waiting on the customer";
  const where = `${c.queue} · ${channelLabel(c.channel)} · ${waiting}`;
  parts.push(el("span", { className: "where", text: where }));
  if (c.last_message) {
    // The summary does not say which agent wrote it, so not "You".
    const who = previewSender(c.last_message);
    const preview = el("span", { className: "preview" }, who);
    preview.append(el("bdi", { text: c.last_message.preview })); // its own direction
    parts.push(preview);
  }
  if (c.respond_by && c.waiting_on === "agent" && c.state === "assigned") {
    const due = el("span", { className: "due" });
    due.dataset.due = c.respond_by;
    parts.push(due);
  }
  button.replaceChildren(...parts);
}

let opener = () => {};

/** `open(id)` is what a click on a conversation does. */
export function initLists(open) {
  opener = open;
}

function renderList(list, conversations) {
  const hadFocus = list.contains(document.activeElement);
  if (conversations.length === 0) {
    list.replaceChildren(el("li", { className: "empty", text: "No conversations" }));
  } else {
    reconcile(
      list,
      conversations,
      (c) => c.id,
      (c) => {
        const button = el("button", { attrs: { type: "button" } });
        button.dataset.id = c.id;
        button.addEventListener("click", () => opener(c.id));
        return el("li", {}, button);
      },
      (item, c) => fill(item.firstElementChild, c),
    );
  }
  // The focused conversation went away (closed, transferred): keep the keyboard user
  // in the list rather than dropping them at the top of the page.
  if (hadFocus && !list.contains(document.activeElement)) {
    const next = list.querySelector("button") ?? $("mine-title");
    next.focus({ preventScroll: true });
  }
}

const assignedToMe = (c) => c.state === "assigned" && c.assigned_agent_id === state.me.id;
const setAsideByMe = (c) => c.state === "inactive" && c.owner_agent_id === state.me.id;

/** The conversations in the agent's two lists. */
export const ownWork = () => state.conversations.filter((c) => assignedToMe(c) || setAsideByMe(c));

/** Paint both lists from state.conversations. */
export function renderLists() {
  renderList($("mine"), state.conversations.filter(assignedToMe));
  renderList($("inactive"), state.conversations.filter(setAsideByMe));
  tick();
}

export function markCurrent() {
  for (const button of document.querySelectorAll("#lists li button")) {
    button.setAttribute("aria-current", String(button.dataset.id === state.open));
  }
}

export function clearLists() {
  $("mine").replaceChildren();
  $("inactive").replaceChildren();
}

// Who spoke last, for the preview: the customer needs no label.
function previewSender(last) {
  if (last.direction !== "outbound") return "";
  if (last.sender_type === "bot") return "Bot: ";
  if (last.sender_type === "system") return "System: ";
  if (last.sender_agent_id === undefined) return "Reply: "; // an older server
  return last.sender_agent_id === state.me?.id ? "You: " : "Agent: ";
}
