// The reply box: a draft per conversation, Enter to send, "/" for canned responses, and
// the "agent is typing" signal for web-chat customers.

import { ApiError } from "./api.js";
import { reloadChannel, replyBlocked, replyExtras } from "./channel.js";
import { $, el } from "./dom.js";
import { api, draft, saveDraft, state } from "./state.js";

// Say "typing" at most this often while the agent types, and "stopped" after this long
// idle: the customer's indicator needs a refresh, not a message per keystroke.
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 5000;

const typing = { conversation: null, sentAt: 0, idle: null };

// The typing and read-marker endpoints came with these fields; an older server lacks both.
export const hasReadMarkers = (conversation) =>
  conversation != null && "agent_read_seq" in conversation;

function postTyping(id, on) {
  api(`/conversations/${id}/typing`, { method: "POST", body: { typing: on } }).catch(() => {
    // Only a courtesy to the customer: a lost signal is not worth an error on screen.
  });
}

function agentTyped() {
  if (!state.open || !hasReadMarkers(state.detail?.conversation)) return;
  if (!$("reply").value) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (typing.conversation !== state.open || now - typing.sentAt >= TYPING_REPEAT_MS) {
    if (typing.conversation !== state.open) stopTyping();
    typing.conversation = state.open;
    typing.sentAt = now;
    postTyping(state.open, true);
  }
  clearTimeout(typing.idle);
  typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(typing.idle);
  if (typing.conversation === null) return;
  postTyping(typing.conversation, false);
  typing.conversation = null;
  typing.sentAt = 0;
}

/** Show conversation `id`'s draft in the reply box. */
export function showDraft(id) {
  $("reply").value = draft(id);
  hidePicker();
}

function hidePicker() {
  $("canned").hidden = true;
  $("canned").replaceChildren();
}

function pick(text) {
  $("reply").value = text;
  saveDraft(state.open, text);
  hidePicker();
  $("reply").focus();
}

// "/" at the start of the reply lists the canned responses whose shortcut matches.
function offerCanned() {
  const match = /^\/(\S*)$/.exec($("reply").value);
  const found = match ? state.canned.filter((c) => c.shortcut.startsWith(match[1])) : [];
  $("canned").hidden = found.length === 0;
  $("canned").replaceChildren(
    ...found.map((c) => {
      const label = `/${c.shortcut} — ${c.text}`;
      const button = el("button", { text: label, attrs: { type: "button" } });
      button.addEventListener("click", () => pick(c.text));
      return el("li", {}, button);
    }),
  );
}

function pickerKeys(event) {
  const buttons = [...$("canned").querySelectorAll("button")];
  const at = buttons.indexOf(document.activeElement);
  if (event.key === "ArrowDown") buttons[Math.min(at + 1, buttons.length - 1)]?.focus();
  else if (event.key === "ArrowUp") (at <= 0 ? $("reply") : buttons[at - 1]).focus();
  else if (event.key === "Home") buttons[0]?.focus();
  else if (event.key === "End") buttons.at(-1)?.focus();
  else if (event.key === "Escape") {
    hidePicker();
    $("reply").focus();
  } else return;
  event.preventDefault();
}

function replyKeys(event) {
  const pickerOpen = !$("canned").hidden;
  if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing) {
    event.preventDefault();
    // "/re" then Enter means the suggestion, not a message saying "/re".
    if (pickerOpen) $("canned").querySelector("button")?.click();
    else $("compose").requestSubmit();
  } else if (event.key === "ArrowDown" && pickerOpen) {
    event.preventDefault();
    $("canned").querySelector("button")?.focus();
  } else if (event.key === "Escape" && pickerOpen) {
    event.preventDefault();
    hidePicker();
  }
}

let sending = false;

/** `act(action)` runs an action with the desk's error handling and refresh. */
export function initCompose(act) {
  const reply = $("reply");
  reply.addEventListener("input", () => {
    saveDraft(state.open, reply.value);
    offerCanned();
    agentTyped();
  });
  reply.addEventListener("keydown", replyKeys);
  $("canned").addEventListener("keydown", pickerKeys);
  $("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = state.open;
    const text = reply.value;
    // One request per message: a double click or Enter held down must not send twice.
    if (sending || !id || !text.trim() || replyBlocked()) return;
    sending = true;
    $("send").disabled = true;
    reply.readOnly = true;
    $("compose").setAttribute("aria-busy", "true");
    stopTyping();
    const unlock = () => {
      sending = false;
      $("send").disabled = replyBlocked();
      reply.readOnly = false;
      $("compose").removeAttribute("aria-busy");
      if (document.activeElement === document.body && state.open === id) reply.focus();
    };
    // A Messenger tag outside the 24-hour window, chosen when the text was sent.
    const body = { text, ...replyExtras() };
    act(async () => {
      try {
        await api(`/conversations/${id}/messages`, { method: "POST", body });
      } catch (error) {
        // The channel refused (opted out, window closed): the rules changed under the
        // desk. The server's words are shown, the draft stays, the rules are fetched.
        if (error instanceof ApiError && error.status === 409) reloadChannel().catch(() => {});
        throw error;
      } finally {
        unlock();
      }
      saveDraft(id, "");
      if (state.open === id && reply.value === text) reply.value = "";
    });
  });
}
