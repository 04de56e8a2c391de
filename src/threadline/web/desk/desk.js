// The agent desk: plain ES modules, no build step. Customer content is only ever set
// with textContent, never parsed as HTML (DESIGN.md §7).
//
// This module holds the session (sign in, sign out, the live stream) and the refresh
// that repaints everything from the API. The panes are drawn by lists.js, pane.js
// (with thread.js and compose.js) and floor.js.

import { NetworkError, SessionEnded } from "./api.js";
import { consentChanged, forgetKeywords, reloadChannel } from "./channel.js";
import { initCompose, stopTyping } from "./compose.js";
import { tick } from "./countdown.js";
import { $ } from "./dom.js";
import { act, clearErrors, guard, report } from "./errors.js";
import { clearFloor, loadFloor, renderFloor } from "./floor.js";
import { clearLists, initLists, renderLists } from "./lists.js";
import { announce, forgetNews, noteEvent, takeNews, updateTitle } from "./notify.js";
import {
  floorActions,
  initPane,
  loadOpen,
  markRead,
  moveSelection,
  openFromList,
  showTab,
} from "./pane.js";
import { api, desk, forgetDrafts, isSupervisor, onClientEvents, setToken, state } from "./state.js";
import { openStream } from "./stream.js";
import { initTemplates } from "./templates.js";
import { clearThread, customerTyping } from "./thread.js";

const SESSION_ENDED = "Your session has ended; sign in again.";
const UNREACHABLE = "The desk cannot reach the server; try again.";

let stream = null;

function updateBanner() {
  $("offline-banner").hidden = state.reachable && !state.streamDown;
}

let retryTimer = null;
onClientEvents({
  sessionEnded: () => endSession(SESSION_ENDED),
  reachable(ok) {
    state.reachable = ok;
    updateBanner();
    // Nothing else may ask again soon (the stream can be up while HTTP is not).
    if (!ok && !retryTimer && state.me) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        refreshSoon();
      }, 3000);
    }
  },
});

// -- session ---------------------------------------------------------------------

function show(view) {
  $("login-view").hidden = view !== "login";
  $("desk-view").hidden = view !== "desk";
  document.body.classList.toggle("at-desk", view === "desk");
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const button = $("sign-in");
  button.disabled = true;
  try {
    const result = await api("/auth/login", {
      method: "POST",
      body: { username: $("username").value, password: $("password").value },
      signIn: true,
    });
    setToken(result.token);
    $("password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent =
      error instanceof NetworkError ? UNREACHABLE : error.message;
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const session = ++state.session;
  state.me = await api("/me");
  if (session !== state.session) return;
  $("me-name").textContent = state.me.display_name;
  $("role").textContent = state.me.role === "agent" ? "" : state.me.role;
  $("desk-view").classList.toggle("supervisor", isSupervisor());
  $("tabs").hidden = !isSupervisor();
  $("floor").hidden = !isSupervisor();
  $("conversation-panel").setAttribute("role", isSupervisor() ? "tabpanel" : "region");
  showTab(isSupervisor() ? "floor" : "conversation");
  $("floor").setAttribute("role", isSupervisor() ? "tabpanel" : "region");
  renderMe();
  show("desk");
  // Subscribed before the first load, so that nothing happening meanwhile is missed.
  connect();
  try {
    state.canned = await api("/canned-responses");
  } catch (error) {
    report(error, $("desk-error")); // the desk works without them
  }
  await refreshNow();
  if (session !== state.session) return;
  // Land where the work is: the first conversation, or the list's heading (unless the
  // agent already went somewhere while the desk loaded).
  if (document.activeElement === document.body || document.activeElement === null) {
    ($("mine").querySelector("button") ?? $("mine-title")).focus();
  }
}

/** Sign out: offline first (so no new work is routed here), then end the token. */
async function signOut() {
  $("sign-out").disabled = true;
  stopTyping();
  // Signing out always works here; what the server missed (unreachable) it forgets
  // when the token expires.
  const quietly = (request) => request.catch(() => {});
  if (state.me && state.me.status !== "offline") {
    const offline = { method: "PUT", body: { status: "offline" } };
    await quietly(api(`/agents/${state.me.id}/status`, offline));
  }
  if (state.token) await quietly(api("/auth/logout", { method: "POST" }));
  $("sign-out").disabled = false;
  endSession("");
}

/** Forget everything this session showed, and go back to the sign-in form. */
function endSession(message) {
  state.session++;
  stream?.close();
  stream = null;
  setToken(null);
  forgetDrafts();
  forgetKeywords();
  clearTimeout(refreshTimer);
  clearTimeout(retryTimer);
  retryTimer = null;
  Object.assign(state, {
    me: null,
    open: null,
    detail: null,
    conversations: [],
    overview: null,
    lastSeq: null,
    reloadAll: false,
    skew: 0,
    canned: [],
    reachable: true,
    streamDown: false,
  });
  state.agents.clear();
  state.customers.clear();
  state.lastEvent.clear();
  state.lent.clear();
  state.attention.clear();
  state.readPosted.clear();
  forgetNews();
  clearLists();
  clearFloor();
  clearThread("");
  $("reply").value = "";
  clearErrors();
  $("me-name").textContent = "";
  $("role").textContent = "";
  $("load").textContent = "";
  $("desk-view").classList.remove("supervisor");
  updateBanner();
  show("login");
  $("login-error").textContent = message;
  $("password").value = "";
  $("username").focus();
}

function renderMe() {
  $("status").value = state.me.status;
  $("load").textContent =
    `${state.me.active_count}/${state.me.preferred_concurrency} active (max ${state.me.max_load})`;
}

// -- the live stream -------------------------------------------------------------

function connect() {
  stream = openStream({
    hello: () => {
      const hello = { type: "hello", token: state.token };
      if (state.lastSeq !== null) hello.after = state.lastSeq; // resume: nothing is missed
      return hello;
    },
    ready(frame) {
      state.skew = Date.parse(frame.now) - Date.now();
      state.streamDown = false;
      updateBanner();
      const reload = state.lastSeq === null;
      if (reload) state.lastSeq = frame.seq;
      if (reload && state.reloadAll) {
        state.reloadAll = false;
        reloadEverything();
      } else {
        refreshSoon();
      }
    },
    event: onEvent,
    typing(frame) {
      if (frame.conversation_id === state.open) customerTyping(frame.typing === true);
    },
    down() {
      state.streamDown = true;
      updateBanner();
    },
    tooFarBehind() {
      // Replaying would be too long: start from now, and reload what is on screen.
      state.lastSeq = null;
      state.reloadAll = true;
    },
    invalidToken: () => endSession(SESSION_ENDED),
  });
}

function onEvent(event) {
  state.lastSeq = event.seq;
  if (event.conversation_id) state.lastEvent.set(event.conversation_id, event.type);
  noteLent(event);
  noteEvent(event);
  if (event.type === "customer.consent_changed") consentChanged(event);
  refreshSoon();
}

/** Which of the agent's conversations are with the bot for a routine, and which bot,
 * so the pane says where one went instead of "reassigned". */
function noteLent(event) {
  const id = event.conversation_id;
  const payload = event.payload ?? {};
  if (!id || event.agent_id !== state.me?.id) return;
  if (event.type === "conversation.unassigned" && payload.cause === "lent_to_bot") {
    state.lent.set(id, state.lent.get(id) ?? {});
  } else if (event.type === "conversation.bot_engaged" && payload.routine) {
    state.lent.set(id, { bot: payload.bot ?? null, routine: payload.routine });
  } else if (event.type === "conversation.assigned") {
    state.lent.delete(id); // back with the agent
  }
}

const reloadEverything = guard(async () => {
  state.canned = await api("/canned-responses");
  state.detail = null; // the thread is redrawn from scratch
  await refreshNow();
});

// -- refresh ---------------------------------------------------------------------

let refreshTimer = null;
let refreshing = null;
let refreshAgain = false;

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshNow, 100); // one reload for a burst of events
}

/** One refresh at a time; a request during one runs another straight after. */
function refreshNow() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        await refresh();
      } catch (error) {
        report(error, $("desk-error"));
      }
    } while (refreshAgain && state.me);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function refresh() {
  const session = state.session;
  if (!state.me) return;
  const news = takeNews();
  // By state: an agent's closed history must not crowd their live work out of a page.
  const mine = `/conversations?agent_id=${state.me.id}&limit=200&state=`;
  const [me, assigned, inactive] = await Promise.all([
    api("/me"),
    api(`${mine}assigned`),
    api(`${mine}inactive`),
  ]);
  if (session !== state.session) return;
  state.me = me;
  state.conversations = [...assigned, ...inactive];
  renderMe();
  if (isSupervisor()) {
    try {
      await loadFloor();
      if (session !== state.session) return;
      renderFloor(floorActions);
    } catch (error) {
      report(error, $("floor-error"));
    }
  }
  renderLists();
  if (state.open) await loadOpen({ focus: false });
  if (session !== state.session) return;
  $("desk-error").textContent = "";
  announce(news);
  updateTitle();
  tick();
}

async function setStatus(event) {
  const wanted = event.target.value;
  const change = { method: "PUT", body: { status: wanted } };
  const ok = await act(() => api(`/agents/${state.me.id}/status`, change));
  if (!ok && state.me) $("status").value = state.me.status; // show what is true
}

// -- wiring ----------------------------------------------------------------------

desk.refreshSoon = refreshSoon;
desk.refreshNow = refreshNow;

$("login-form").addEventListener("submit", guard(signIn, () => $("login-error")));
$("sign-out").addEventListener("click", guard(signOut));
$("status").addEventListener("change", guard(setStatus));
initLists(openFromList);
initCompose(act);
initTemplates({ act, refused: () => reloadChannel().catch(() => {}) });
initPane();
document.addEventListener("keydown", (event) => {
  if (!event.altKey || !state.me) return;
  if (event.key === "ArrowDown") moveSelection(1);
  else if (event.key === "ArrowUp") moveSelection(-1);
  else return;
  event.preventDefault();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !state.me) return;
  if (state.open) state.attention.delete(state.open);
  markRead();
  updateTitle();
});
setInterval(tick, 1000);

if (state.token) {
  start().catch((error) => {
    if (error instanceof SessionEnded) return; // already back at sign-in, with the reason
    endSession(error instanceof NetworkError ? UNREACHABLE : "");
  });
} else {
  show("login");
}
