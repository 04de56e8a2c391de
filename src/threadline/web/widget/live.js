// Keeping the thread in step with the server: the history when a session starts, then a
// WebSocket that resumes where it left off, or long polling where WebSockets cannot get
// through. Events only say that something happened; new messages are fetched with
// after_seq, so a missed or repeated event costs a request, never a message.

import { API, ApiError, api, backoff, sleep } from "./api.js";
import { $, state } from "./state.js";
import { afterChange, agentTyping, fromAgent, merge } from "./thread.js";

// What to do when the server no longer knows the token. session.js owns that (widget.js
// hands it over), which spares this module from importing the module that starts it.
let expired = () => {};
export function onExpired(handler) {
  expired = handler;
}

export async function loadHistory() {
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
      if (error instanceof ApiError && error.status === 401) expired();
      // Otherwise the next event or reconnection fetches again.
    })
    .finally(() => {
      fetching = null;
    });
  return fetching;
}

const live = { socket: null, failures: 0, retry: 0, polling: false, timer: null, run: 0 };

export function connectLive() {
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
      expired();
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

export function stopLive() {
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
        expired();
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
