// The web chat panel, inside the iframe that loader.js adds to a business's page
// (issue 4). Plain ES module, no build step, on Threadline's origin: the visitor's token
// lives in this frame's localStorage and never reaches the host page. Customer and agent
// text is only ever set with textContent, never parsed as HTML.

const params = new URLSearchParams(location.search);
const KEY = params.get("key") ?? "";
const API = new URL("../api/v1/", location.href);
const STORE = `threadline:visitor:${KEY}`;
const FRAMED = window.parent !== window;
const $ = (id) => document.getElementById(id);

const TYPING_EVERY_MS = 3000; // "still typing" at most this often
const TYPING_IDLE_MS = 5000; // "stopped typing" after this long without a key
const AGENT_TYPING_MS = 8000; // an agent's "typing" that is not renewed goes away

const state = {
  token: null,
  identity: null, // the JWT from the host page's script tag, if any
  initialised: false,
  session: null, // the promise of the running session start
  identityFailed: false,
  unavailable: false,
  open: !FRAMED, // the panel is showing (a frame opened directly always is)
  items: new Map(), // key → a message from the server, or one still being sent
  order: 0,
  lastSeq: 0, // messages fetched up to here (the cursor for after_seq)
  eventSeq: null, // the stream position to resume from
  agentReadSeq: 0,
  readSeq: 0, // the visitor has seen agent messages up to here
  unreadSent: null,
  agentName: null,
  closed: false,
  named: false,
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code;
  }
}

// Worth trying again with the same request: the network, or the server for a moment.
const transient = (error) =>
  !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt) => Math.min(15000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);

async function api(path, { method = "GET", body, signal, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(new URL(path, API), {
    method,
    headers,
    signal,
    credentials: "omit",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.code, data?.error?.message);
  return data;
}

// --- storage: this frame's own, on Threadline's origin, keyed by the widget key ---------
//
// localStorage first: partitioned by the host site in current browsers. Where the browser
// denies an embedded frame all storage (third-party cookies blocked, without storage
// partitioning), a partitioned cookie (CHIPS) of this origin, readable by this frame
// alone; failing both, the chat works for this page view and is not remembered.

const COOKIE = `threadline_${KEY.replace(/[^A-Za-z0-9_-]/g, "")}`;
const COOKIE_DAYS = 180; // as long as the server keeps a visitor's token
const COOKIE_PATH = new URL(".", location.href).pathname; // …/widget/

function localStore() {
  try {
    const probe = `${STORE}:probe`;
    localStorage.setItem(probe, "1");
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    return null;
  }
}

const storage = localStore();

function stored() {
  try {
    let text = storage?.getItem(STORE) ?? null;
    if (!storage) {
      const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${COOKIE}=`));
      text = cookie ? decodeURIComponent(cookie.slice(COOKIE.length + 1)) : null;
    }
    const record = JSON.parse(text);
    return record && typeof record.token === "string" ? record : null;
  } catch {
    return null;
  }
}

function store(record) {
  try {
    if (storage) {
      if (record) storage.setItem(STORE, JSON.stringify(record));
      else storage.removeItem(STORE);
      return;
    }
    const value = record ? encodeURIComponent(JSON.stringify(record)) : "";
    const age = record ? COOKIE_DAYS * 86400 : 0;
    // Path: sent only with the widget's own files, never with the API (which does not
    // read it: the token goes in the Authorization header, so no CSRF either).
    const attributes = `Max-Age=${age}; Path=${COOKIE_PATH}; Secure; SameSite=None; Partitioned`;
    document.cookie = `${COOKIE}=${value}; ${attributes}`;
  } catch {
    // Nowhere to keep it: the chat still works for this page view.
  }
}

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

// --- talking to the loader in the host page --------------------------------------------

function tellParent(message) {
  if (!FRAMED) return;
  // Nothing private goes this way (open/close and a count), so any parent may hear it;
  // Chromium names the parent's origin, which narrows it anyway.
  const target = location.ancestorOrigins?.[0] || "*";
  window.parent.postMessage(message, target);
}

window.addEventListener("message", (event) => {
  // Only the page that embeds this frame. Its origin cannot be known here (any allowed
  // site may embed the widget); the identity it passes is verified by the server.
  if (!FRAMED || event.source !== window.parent) return;
  const data = event.data;
  if (!data || typeof data !== "object") return;
  if (data.type === "threadline:init") {
    if (typeof data.open === "boolean") setOpen(data.open);
    initialise(typeof data.identity === "string" && data.identity ? data.identity : null);
  } else if (data.type === "threadline:open") {
    setOpen(true);
    focusComposer();
  } else if (data.type === "threadline:hide") {
    setOpen(false);
  }
});

function setOpen(open) {
  state.open = open;
  if (open && state.identity && !state.session && !state.identityFailed) ensureSession();
  afterChange();
}

function focusComposer() {
  if (!$("identity-failed").hidden) $("as-guest").focus();
  else if (!$("text").disabled) $("text").focus();
}

function close() {
  tellParent({ type: "threadline:close" });
}

// --- the session ---------------------------------------------------------------------

function initialise(identity) {
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

function ensureSession(options) {
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

function identityFailed(error) {
  // A page that signs its visitors in is one where the chat may be about their account:
  // never carry on as somebody else without the visitor choosing so.
  console.warn(`Threadline: the sign-in on this page was refused: ${error.message}`);
  state.identityFailed = true;
  $("identity-failed").hidden = false;
  setComposer(false);
  if (state.open) $("as-guest").focus();
}

function unavailable(message) {
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

function sessionEnded() {
  // The server no longer knows the token: forget it; writing again starts afresh.
  stopLive();
  store(null);
  state.token = null;
  state.session = null;
  clearMessages();
}

// --- messages ------------------------------------------------------------------------

const keyOf = (m) => (m.client_id ? `c:${m.client_id}` : `m:${m.id}`);

function clearMessages() {
  state.items.clear();
  state.lastSeq = 0;
  state.eventSeq = null;
  state.agentReadSeq = 0;
  state.readSeq = 0;
  state.closed = false;
  render();
}

function accept(message) {
  const key = keyOf(message);
  const known = state.items.get(key);
  state.items.set(key, { ...message, key, order: known?.order ?? state.order++ });
}

function merge(page) {
  for (const message of page.messages) {
    accept(message);
    state.lastSeq = Math.max(state.lastSeq, message.seq);
    if (fromAgent(message) && message.sender === "agent") agentTyping(false);
  }
  state.agentReadSeq = Math.max(state.agentReadSeq, page.agent_read_seq ?? 0);
  if (page.state) state.closed = page.state === "closed";
}

async function loadHistory() {
  $("log").setAttribute("aria-busy", "true"); // one announcement, not one per old message
  try {
    const page = await api("widget/messages");
    merge(page);
    state.eventSeq = page.event_seq ?? state.eventSeq;
    // What the visitor had already read before this page view.
    for (const m of state.items.values()) {
      if (fromAgent(m) && m.status === "read") state.readSeq = Math.max(state.readSeq, m.seq);
    }
  } finally {
    $("log").setAttribute("aria-busy", "false");
    afterChange();
  }
}

// Fetch what is new, one request at a time; events arriving meanwhile fetch once more.
let fetching = null;
let fetchAgain = false;
function catchUp() {
  if (!state.token) return Promise.resolve();
  if (fetching) {
    fetchAgain = true;
    return fetching;
  }
  fetching = (async () => {
    do {
      fetchAgain = false;
      merge(await api(`widget/messages?after_seq=${state.lastSeq}`));
      afterChange();
    } while (fetchAgain);
  })()
    .catch((error) => {
      if (error instanceof ApiError && error.status === 401) sessionEnded();
      // Otherwise the next event or reconnection fetches again.
    })
    .finally(() => {
      fetching = null;
    });
  return fetching;
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

function fromAgent(m) {
  return m.seq != null && m.direction === "outbound" && m.sender !== "system";
}

// --- rendering -----------------------------------------------------------------------

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

function build(item) {
  const li = document.createElement("li");
  const who = document.createElement("span");
  who.className = "who";
  const text = document.createElement("p");
  text.className = "text";
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = document.createElement("time");
  const status = document.createElement("span");
  status.className = "status";
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "retry";
  retry.textContent = "Try again";
  retry.hidden = true;
  retry.addEventListener("click", () => {
    const current = state.items.get(li.dataset.key);
    if (!current?.pending) return;
    current.pending = "sending";
    afterChange();
    queue(current);
  });
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
  const sameSender =
    previous && previous.sender === item.sender && previous.sender_name === item.sender_name;
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

function render() {
  const list = $("messages");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  const items = ordered();
  const lastOwn = items.findLast((m) => m.sender === "you" && m.seq != null);
  const keep = new Set();
  items.forEach((item, index) => {
    let li = elements.get(item.key);
    if (!li) {
      li = build(item);
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
  $("agent").hidden = !state.agentName;
  setText($("agent"), state.agentName ? `You're chatting with ${state.agentName}` : "");
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function afterChange(scroll = false) {
  const fromAgents = [...state.items.values()].filter(fromAgent).sort((a, b) => a.seq - b.seq);
  const lastAgentName = fromAgents.filter((m) => m.sender === "agent" && m.sender_name).at(-1)
    ?.sender_name;
  if (lastAgentName) state.agentName = lastAgentName;
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
    tellParent({ type: "threadline:unread", count: unread });
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

// --- typing --------------------------------------------------------------------------

const typing = { active: false, sentAt: 0, idle: null, shown: null };

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

function agentTyping(active, name) {
  clearTimeout(typing.shown);
  if (name) state.agentName = name;
  if (active) {
    setText($("typing"), `${name || state.agentName || "An agent"} is typing…`);
    typing.shown = setTimeout(() => agentTyping(false), AGENT_TYPING_MS);
  } else {
    setText($("typing"), "");
  }
}

// --- live updates: a WebSocket, or long polling where WebSockets cannot get through ----

const live = { socket: null, failures: 0, retry: 0, polling: false, timer: null, run: 0 };

function connectLive() {
  stopLive();
  const run = live.run;
  if (live.polling) {
    poll(run);
    return;
  }
  const url = new URL("widget/stream", API);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let ready = false;
  let socket;
  try {
    socket = new WebSocket(url);
  } catch {
    live.polling = true;
    poll(run);
    return;
  }
  live.socket = socket;
  socket.addEventListener("open", () => {
    const hello = { type: "hello", token: state.token };
    if (state.eventSeq != null) hello.after = state.eventSeq; // resume: nothing is missed
    socket.send(JSON.stringify(hello));
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === "ready") {
      ready = true;
      live.failures = 0;
      live.retry = 0;
      if (state.eventSeq == null) state.eventSeq = frame.seq;
      catchUp(); // anything written while this socket was connecting
    } else if (frame.type === "event" && frame.event) {
      handle(frame.event);
    } else if (frame.type === "typing") {
      agentTyping(Boolean(frame.typing), frame.name ?? null);
    }
  });
  socket.addEventListener("close", (event) => {
    if (live.socket !== socket) return;
    live.socket = null;
    if (event.code === 4401) {
      sessionEnded();
      return;
    }
    if (event.code === 4409) {
      // Too far behind to replay: start from now, after fetching what was missed.
      state.eventSeq = null;
      catchUp();
    }
    if (!ready && event.code !== 4409) live.failures += 1;
    if (live.failures >= 2) {
      // Twice without getting through (a proxy that drops WebSockets, say): poll from
      // now on, without troubling the visitor about it.
      live.polling = true;
      poll(run);
      return;
    }
    live.retry = Math.min(live.retry + 1, 5);
    live.timer = setTimeout(connectLive, backoff(live.retry));
  });
}

function stopLive() {
  live.run += 1; // ends a running poll loop
  clearTimeout(live.timer);
  const socket = live.socket;
  live.socket = null;
  socket?.close();
}

async function poll(run) {
  for (let failures = 0; run === live.run && state.token; ) {
    try {
      const after = state.eventSeq ?? 0;
      const page = await api(`widget/events?after=${after}&wait=25`, {
        signal: AbortSignal.timeout(35000),
      });
      if (run !== live.run) return;
      failures = 0;
      for (const event of page.events ?? []) handle(event);
      if (typeof page.seq === "number") {
        state.eventSeq = page.reset ? page.seq : Math.max(after, page.seq);
      }
      if (page.reset) catchUp(); // too far behind to replay: refetch, go on from now
      if (page.typing === true) agentTyping(true, null);
      else if (page.typing === false) agentTyping(false);
    } catch (error) {
      if (run !== live.run) return;
      if (error instanceof ApiError && error.status === 401) {
        sessionEnded();
        return;
      }
      failures += 1;
      await sleep(backoff(Math.min(failures, 5)));
    }
  }
}

function handle(event) {
  if (typeof event.seq === "number") state.eventSeq = Math.max(state.eventSeq ?? 0, event.seq);
  if (event.kind === "message") {
    catchUp();
  } else if (event.kind === "read") {
    state.agentReadSeq = Math.max(state.agentReadSeq, event.agent_read_seq ?? 0);
    afterChange();
  } else if (event.kind === "closed") {
    state.closed = true;
    agentTyping(false);
    afterChange();
  } else if (event.kind === "assigned") {
    if (event.agent_name) state.agentName = event.agent_name;
    afterChange();
  }
}

// --- the page ------------------------------------------------------------------------

function contrastText(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

async function configure() {
  try {
    const config = await api(`widget/${encodeURIComponent(KEY)}/config`, { auth: false });
    if (config.title) {
      $("title").textContent = config.title;
      document.title = config.title;
    }
    $("greeting").textContent = config.greeting ?? "";
    $("greeting").hidden = !config.greeting;
    if (/^#[0-9a-f]{6}$/i.test(config.accent_color ?? "")) {
      // Custom properties set from script: allowed by the frame's style-src 'self'.
      const root = document.documentElement.style;
      root.setProperty("--accent", config.accent_color);
      root.setProperty("--on-accent", contrastText(config.accent_color));
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      unavailable("This chat is not available right now.");
    }
  }
}

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
$("close").addEventListener("click", close);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && FRAMED) close();
});
document.addEventListener("visibilitychange", () => afterChange());
$("as-guest").addEventListener("click", () => {
  state.identityFailed = false;
  state.identity = null;
  $("identity-failed").hidden = true;
  setComposer(true);
  if (stored()?.sub) store(null);
  state.session = null;
  ensureSession({ asGuest: true });
  $("text").focus();
});
$("close").hidden = !FRAMED;

configure();
render();
if (FRAMED) {
  tellParent({ type: "threadline:ready" });
  // Not embedded by the loader after all (a page that frames frame.html itself): chat
  // anonymously.
  setTimeout(() => {
    if (!state.initialised) initialise(null);
  }, 2000);
} else {
  initialise(null); // frame.html opened on its own
}
