// New work and new messages elsewhere: said through a live region for screen readers,
// and counted in the tab's title for an agent looking at another window.

import { $ } from "./dom.js";
import { summaryCustomer } from "./format.js";
import { ownWork, renderLists, unreadOf } from "./lists.js";
import { state } from "./state.js";
import { paneVisible } from "./thread.js";

const TITLE = "Threadline desk";

// conversation id → "assigned" | "message": heard on the stream, not yet announced.
const pending = new Map();

/** Note a stream event; it is announced after the next refresh, with names. */
export function noteEvent(event) {
  const id = event.conversation_id;
  if (event.type === "conversation.assigned" && event.agent_id === state.me.id) {
    pending.set(id, "assigned");
  } else if (event.type === "message.received" && !pending.has(id)) {
    pending.set(id, "message");
  }
}

/** What has been noted so far, handed to the refresh that is about to start. */
export function takeNews() {
  const news = new Map(pending);
  pending.clear();
  return news;
}

/** Announce the news about the agent's own conversations that they are not looking at. */
export function announce(news) {
  const mine = new Map(ownWork().map((c) => [c.id, c]));
  const lines = [];
  for (const [id, kind] of news) {
    const c = mine.get(id);
    if (!c || (id === state.open && paneVisible())) continue;
    state.attention.add(id);
    const who = summaryCustomer(c);
    lines.push(kind === "assigned" ? `New conversation from ${who}.` : `New message from ${who}.`);
  }
  if (lines.length === 0) return;
  renderLists();
  // Emptied first so the same words twice are still announced twice.
  $("announcer").textContent = "";
  const session = state.session;
  setTimeout(() => {
    if (session === state.session) $("announcer").textContent = lines.join(" ");
  }, 50);
}

export function updateTitle() {
  if (!state.me) {
    document.title = TITLE;
    return;
  }
  const seenNow = paneVisible() ? state.open : null;
  const waiting = ownWork().filter((c) => c.id !== seenNow && unreadOf(c).count > 0).length;
  document.title = waiting > 0 ? `(${waiting}) ${TITLE}` : TITLE;
}

export function forgetNews() {
  pending.clear();
  $("announcer").textContent = "";
  document.title = TITLE;
}
