// What the visitor writes: messages sent one at a time in the order written, each retried
// with its client_id until it arrives, and "typing" notices for the agent.

import { ApiError, api, backoff, sleep, transient } from "./api.js";
import { ensureSession, sessionEnded } from "./session.js";
import { $, KEY, state } from "./state.js";
import { accept, afterChange } from "./thread.js";

const TYPING_EVERY_MS = 3000; // "still typing" at most this often
const TYPING_IDLE_MS = 5000; // "stopped typing" after this long without a key

export function setUpComposer() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text || state.identityFailed || state.unavailable) return;
    $("text").value = "";
    stopTyping();
    send(text);
    $("text").focus();
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("text").addEventListener("input", visitorTyped);
  // The "Try again" of a message that was not sent (thread.js draws the button).
  $("messages").addEventListener("click", (event) => {
    const li = event.target.closest("button.retry")?.closest("li");
    if (!li) return;
    const current = state.items.get(li.dataset.key);
    if (!current?.pending) return;
    current.pending = "sending";
    afterChange();
    queue(current);
  });
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Not a secure context (the host page is plain http): a v4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const cut = [0, 8, 12, 16, 20, 32];
  return cut.slice(1).map((end, i) => hex.slice(cut[i], end)).join("-");
}

// Messages go one at a time, in the order written: the server numbers them as they
// arrive, and two in flight at once could swap places.
const outbox = [];
let draining = false;

function send(text) {
  const clientId = newClientId();
  const item = {
    key: `c:${clientId}`,
    client_id: clientId,
    text,
    sender: "you",
    direction: "inbound",
    created_at: new Date().toISOString(),
    pending: "sending",
    order: state.order++,
  };
  state.items.set(item.key, item);
  state.closed = false;
  afterChange(true);
  queue(item);
}

function queue(item) {
  outbox.push(item);
  if (draining) return;
  draining = true;
  (async () => {
    while (outbox.length) await deliver(outbox.shift());
  })().finally(() => {
    draining = false;
  });
}

async function deliver(item) {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!state.token) await ensureSession();
      const name = $("name").value.trim();
      if (!state.named && name && !state.identity) {
        await api(`widget/${encodeURIComponent(KEY)}/sessions`, {
          method: "POST",
          body: { visitor_token: state.token, identity: null, name },
          auth: false,
        });
        state.named = true;
      }
      // The same client_id on every attempt: a retry of a message that did arrive
      // returns the stored one instead of sending it twice.
      const message = await api("widget/messages", {
        method: "POST",
        body: { text: item.text, client_id: item.client_id },
      });
      accept(message);
      afterChange();
      return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && state.token) sessionEnded();
      if (!transient(error) || state.identityFailed || state.unavailable) {
        item.pending = "failed";
        item.error = error.message;
        afterChange();
        return;
      }
      // The network, or the server for a moment: keep trying, as long as it takes.
      if (attempt >= 2 && item.pending !== "waiting") {
        item.pending = "waiting";
        afterChange();
      }
      await sleep(backoff(attempt));
    }
  }
}

// --- the visitor's typing, for the agent ---------------------------------------------

const typing = { active: false, sentAt: 0, idle: null };

function visitorTyped() {
  if (!state.token) return; // no conversation to type in yet
  clearTimeout(typing.idle);
  if (!$("text").value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (!typing.active || now - typing.sentAt >= TYPING_EVERY_MS) {
    typing.active = true;
    typing.sentAt = now;
    postTyping(true);
  }
  typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typing.idle);
  if (!typing.active) return;
  typing.active = false;
  postTyping(false);
}

function postTyping(value) {
  api("widget/typing", { method: "POST", body: { typing: value } }).catch(() => {});
}
