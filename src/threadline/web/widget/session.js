// The visitor's session: whose it is (anonymous, or the customer the host page signs in),
// when to start or resume it, and what the panel says when it cannot. A new anonymous
// visitor gets no session until they write; a returning one resumes at once, for the
// history, live updates and the unread count.

import { ApiError, api, backoff, sleep, transient } from "./api.js";
import { connectLive, loadHistory, stopLive } from "./live.js";
import { $, KEY, state } from "./state.js";
import { store, stored } from "./storage.js";
import { clearMessages, render } from "./thread.js";

// The subject the host page claims, to tell whether a stored session is this person's.
// Not a verification (the server does that); only a way never to show one signed-in
// person's chat to another on a shared browser.
function claimedSubject(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const sub = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "="))).sub;
    return sub === undefined || sub === null ? null : String(sub);
  } catch {
    return null;
  }
}

export function initialise(identity) {
  if (state.initialised) {
    // A late identity after the anonymous fallback: start again as that person.
    if (!identity || state.identity || state.identityFailed) return;
    stopLive();
    state.session = null;
    state.token = null;
    clearMessages();
  }
  state.initialised = true;
  state.identity = identity;
  const record = stored();
  if (identity) {
    // Resume at once only this same person's chat; otherwise when the panel opens.
    if (record?.sub === claimedSubject(identity) || state.open) ensureSession();
  } else if (record?.sub) {
    // The host page no longer signs this visitor in (they signed out, or someone else
    // uses the browser): never show them the signed-in person's conversation.
    store(null);
  } else if (record) {
    ensureSession(); // a returning visitor: history, live updates, unread count
  }
  // A new anonymous visitor: no session until they write.
  render();
}

export function ensureSession(options) {
  if (!state.session) {
    state.session = startSession(options).catch((error) => {
      state.session = null;
      throw error;
    });
    state.session.catch(() => {}); // reported on the page; a send will try again
  }
  return state.session;
}

async function startSession({ asGuest = false } = {}) {
  const identity = asGuest ? null : state.identity;
  const record = stored();
  const name = $("name").value.trim();
  const body = { visitor_token: null, identity: null, name: name || null };
  if (identity) {
    body.identity = identity;
    // The server resumes the token only if it is this same signed-in customer's.
    if (record?.sub && record.sub === claimedSubject(identity)) body.visitor_token = record.token;
  } else if (record && !record.sub) {
    body.visitor_token = record.token;
  }
  let session;
  for (let attempt = 0; ; attempt++) {
    try {
      session = await api(`widget/${encodeURIComponent(KEY)}/sessions`, {
        method: "POST",
        body,
        auth: false,
      });
      break;
    } catch (error) {
      if (error instanceof ApiError && error.code === "invalid_identity") {
        identityFailed(error);
        throw error;
      }
      if (error instanceof ApiError && error.status === 404) {
        unavailable("This chat is not available right now.");
        throw error;
      }
      if (error instanceof ApiError && error.code === "origin_not_allowed") {
        unavailable("This chat is not offered on this site.");
        throw error;
      }
      if (!transient(error)) {
        notice(error.message);
        throw error;
      }
      notice("Connecting…");
      await sleep(backoff(attempt));
    }
  }
  notice(null);
  state.token = session.visitor_token;
  state.named = Boolean(session.display_name);
  state.agentName = null;
  store({ token: session.visitor_token, sub: identity ? claimedSubject(identity) : null });
  try {
    await loadHistory();
  } catch (error) {
    if (!transient(error)) throw error;
    // The stream's "ready" fetches the history once it gets through.
  }
  connectLive();
  return session;
}

// The visitor chose to go on without the refused sign-in.
export function chatAsGuest() {
  state.identityFailed = false;
  state.identity = null;
  $("identity-failed").hidden = true;
  setComposer(true);
  if (stored()?.sub) store(null);
  state.session = null;
  ensureSession({ asGuest: true });
}

export function sessionEnded() {
  // The server no longer knows the token: forget it; writing again starts afresh.
  stopLive();
  store(null);
  state.token = null;
  state.session = null;
  clearMessages();
}

function identityFailed(error) {
  // A page that signs its visitors in is one where the chat may be about their account:
  // never carry on as somebody else without the visitor choosing so.
  console.warn(`Threadline: the sign-in on this page was refused: ${error.message}`);
  state.identityFailed = true;
  $("identity-failed").hidden = false;
  setComposer(false);
  if (state.open) $("as-guest").focus();
}

export function unavailable(message) {
  state.unavailable = true;
  notice(message);
  setComposer(false);
}

function setComposer(enabled) {
  for (const id of ["text", "send", "name"]) $(id).disabled = !enabled;
}

function notice(text) {
  $("notice").hidden = !text;
  $("notice").textContent = text ?? "";
}
