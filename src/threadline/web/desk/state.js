// What the desk knows, in one place so that signing out can forget all of it.

import { createClient } from "./api.js";

const TOKEN_KEY = "tl-token";
const DRAFTS_KEY = "tl-drafts";

export const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  // Bumped at sign-in and sign-out: an answer that arrives for an earlier session is
  // dropped instead of repainting a desk that has moved on.
  session: 0,
  me: null,
  open: null, // the id of the conversation in the thread pane
  detail: null, // its last GET /conversations/{id}
  conversations: [], // the agent's own, from the last refresh
  overview: null, // supervisors: the last GET /overview
  agents: new Map(), // id → agent, from the overview (agents may not list agents)
  customers: new Map(), // customer id → label, for the floor's late list
  lastEvent: new Map(), // conversation id → type of the last event seen for it
  lent: new Map(), // conversation id → {bot, routine}: handed to the bot, coming back
  attention: new Set(), // conversations with news the agent has not opened yet
  readPosted: new Map(), // conversation id → the seq last sent to POST …/read
  lastSeq: null,
  reloadAll: false, // the stream said 4409: the next "ready" reloads everything
  skew: 0, // server clock minus this browser's
  canned: [],
  reachable: true, // the last HTTP request reached the server
  streamDown: false,
};

export function setToken(token) {
  state.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export const isSupervisor = () => state.me !== null && state.me.role !== "agent";

// Drafts live in sessionStorage: a reload keeps them, closing the tab or signing out
// does not.
const drafts = new Map(Object.entries(storedDrafts()));

function storedDrafts() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFTS_KEY) ?? "{}") ?? {};
  } catch {
    return {}; // a damaged entry costs the drafts, not the desk
  }
}

export function draft(id) {
  return drafts.get(id) ?? "";
}

export function saveDraft(id, text) {
  if (!id) return;
  if (text) drafts.set(id, text);
  else drafts.delete(id);
  sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(Object.fromEntries(drafts)));
}

export function forgetDrafts() {
  drafts.clear();
  sessionStorage.removeItem(DRAFTS_KEY);
}

/** desk.js's refresh, for the modules it imports (filled in by desk.js). */
export const desk = {
  refreshSoon: () => {},
  refreshNow: async () => {},
};

const hooks = { sessionEnded: () => {}, reachable: () => {} };

/** desk.js says what a lost session and a lost network mean for the page. */
export function onClientEvents(handlers) {
  Object.assign(hooks, handlers);
}

export const api = createClient({
  token: () => state.token,
  sessionEnded: () => hooks.sessionEnded(),
  reachable: (ok) => hooks.reachable(ok),
});
