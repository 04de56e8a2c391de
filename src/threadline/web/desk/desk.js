// The agent desk: plain ES module, no build step. Customer content is only ever set
// with textContent, never parsed as HTML (DESIGN.md §7).

const API = "/api/v1";
const state = {
  token: sessionStorage.getItem("tl-token"),
  me: null,
  open: null,
  lastSeq: null,
  skew: 0, // server clock minus this browser's, from the stream's "ready" frame
  canned: [],
};
const $ = (id) => document.getElementById(id);

// Amber in the last minute before the respond-by time, red once it has passed.
const AMBER_SECONDS = 60;

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    ...options,
    headers: {
      "content-type": "application/json",
      ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
    },
  });
  if (response.status === 401 && state.token) {
    signOut();
    throw new Error("your session has ended; sign in again");
  }
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.error?.message ?? `request failed (${response.status})`);
  return body;
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("desk-view").hidden = view !== "desk";
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const result = await api("/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    state.token = result.token;
    sessionStorage.setItem("tl-token", state.token);
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
}

function signOut() {
  state.token = null;
  state.me = null;
  sessionStorage.removeItem("tl-token");
  state.socket?.close();
  show("login");
}

async function start() {
  state.me = await api("/me");
  show("desk");
  $("me-name").textContent = state.me.display_name;
  renderMe();
  state.canned = await api("/canned-responses");
  await refresh();
  connect();
}

function renderMe() {
  $("status").value = state.me.status;
  $("load").textContent =
    `${state.me.active_count}/${state.me.preferred_concurrency} active (max ${state.me.max_load})`;
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 100); // one reload for a burst of events
}

async function refresh() {
  const [me, conversations] = await Promise.all([
    api("/me"),
    api(`/conversations?agent_id=${state.me.id}&limit=200`),
  ]);
  state.me = me;
  renderMe();
  renderList($("mine"), conversations.filter((c) => c.state === "assigned"));
  renderList($("inactive"), conversations.filter((c) => c.state === "inactive"));
  if (state.me.role !== "agent") await renderFloor();
  if (state.open) await openConversation(state.open, { keepFocus: true });
}

function renderList(list, conversations) {
  list.replaceChildren(
    ...conversations.map((c) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.id = c.id;
      button.setAttribute("aria-current", String(c.id === state.open));
      const name = document.createElement("strong");
      name.textContent = c.customer_name ?? "Customer";
      const label = document.createElement("span");
      const waiting = c.waiting_on === "agent" ? "waiting for you" : "waiting on the customer";
      label.textContent = ` ${c.queue} · ${c.channel} · ${waiting} `;
      button.append(name, label);
      if (c.last_message) {
        const preview = document.createElement("span");
        preview.className = "preview";
        const who = c.last_message.direction === "outbound" ? "You: " : "";
        preview.textContent = who + c.last_message.preview;
        button.append(preview);
      }
      if (c.respond_by && c.waiting_on === "agent") {
        const due = document.createElement("span");
        due.className = "due";
        due.dataset.due = c.respond_by;
        button.append(due);
      }
      button.addEventListener("click", () => openConversation(c.id));
      item.append(button);
      return item;
    }),
  );
  tick();
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function renderFloor() {
  const floor = await api("/overview");
  state.skew = Date.parse(floor.at) - Date.now(); // a fresher reading of the server clock
  $("floor").hidden = false;
  $("queues").tBodies[0].replaceChildren(
    ...floor.queues.map((q) => {
      const row = document.createElement("tr");
      row.dataset.queue = q.queue;
      const oldest = q.oldest_respond_by ? new Date(q.oldest_respond_by).toLocaleTimeString() : "–";
      row.append(cell(q.queue), cell(String(q.waiting)), cell(String(q.returning)), cell(oldest));
      return row;
    }),
  );
  const online = floor.agents.filter((a) => a.status === "online" && a.role === "agent");
  $("agents").tBodies[0].replaceChildren(
    ...floor.agents
      .filter((a) => a.role === "agent")
      .map((a) => {
        const row = document.createElement("tr");
        row.dataset.agent = a.username;
        const load = `${a.active_count}/${a.preferred_concurrency} (max ${a.max_load})`;
        row.append(cell(a.display_name), cell(a.status), cell(load));
        return row;
      }),
  );
  $("breaching").replaceChildren(
    ...floor.breaching.map((c) => {
      const item = document.createElement("li");
      item.dataset.id = c.id;
      const late = document.createElement("span");
      late.className = "due";
      late.dataset.due = c.respond_by;
      const holder = floor.agents.find((a) => a.id === c.assigned_agent_id);
      const label = document.createElement("span");
      label.textContent = `${c.queue} · ${holder ? holder.display_name : "in the queue"} · `;
      // Reassign: to any online agent (the server enforces their maximum load).
      const select = document.createElement("select");
      select.setAttribute("aria-label", "Reassign to");
      select.append(new Option("Reassign to…", ""));
      for (const agent of online) {
        if (agent.id !== c.assigned_agent_id) select.append(new Option(agent.display_name, agent.id));
      }
      select.addEventListener("change", () => {
        if (!select.value) return;
        act(
          () =>
            api(`/conversations/${c.id}/transfer`, {
              method: "POST",
              body: JSON.stringify({ to_agent_id: select.value }),
            }),
          $("floor-error"),
        );
      });
      item.append(label, late, select);
      return item;
    }),
  );
}

function tick() {
  const now = Date.now() + state.skew;
  for (const due of document.querySelectorAll(".due")) {
    const seconds = Math.round((Date.parse(due.dataset.due) - now) / 1000);
    const span = Math.abs(seconds);
    const clock = `${Math.floor(span / 60)}:${String(span % 60).padStart(2, "0")}`;
    due.textContent = seconds >= 0 ? `${clock} left` : `${clock} late`;
    due.classList.toggle("amber", seconds >= 0 && seconds < AMBER_SECONDS);
    due.classList.toggle("red", seconds < 0);
  }
}

async function openConversation(id, { keepFocus = false } = {}) {
  state.open = id;
  const detail = await api(`/conversations/${id}`);
  $("thread-view").hidden = false;
  const customer = detail.customer.display_name ?? "Customer";
  $("thread-title").textContent = `${customer} · ${detail.conversation.state}`;
  let day = null;
  $("thread").replaceChildren(
    ...detail.messages.flatMap((m) => {
      const items = [];
      const date = new Date(m.created_at).toLocaleDateString();
      if (date !== day) {
        // A thread spans days and sessions: a separator where the day changes.
        day = date;
        const separator = document.createElement("li");
        separator.className = "day";
        separator.textContent = date;
        items.push(separator);
      }
      const item = document.createElement("li");
      item.className = m.direction;
      const meta = document.createElement("span");
      meta.className = "meta";
      const who = m.direction === "inbound" ? customer : "You";
      const when = new Date(m.created_at).toLocaleString();
      const status = m.direction === "outbound" ? ` · ${m.delivery_status}` : "";
      meta.textContent = `${who} · ${when}${status}`;
      const text = document.createElement("span");
      text.textContent = m.text;
      item.append(meta, text);
      items.push(item);
      return items;
    }),
  );
  for (const button of document.querySelectorAll("nav li button")) {
    button.setAttribute("aria-current", String(button.dataset.id === id));
  }
  if (!keepFocus) $("reply").focus();
}

async function act(action, errors = $("action-error")) {
  errors.textContent = "";
  try {
    await action();
    await refresh();
  } catch (error) {
    errors.textContent = error.message;
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${API}/stream`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    const hello = { type: "hello", token: state.token };
    if (state.lastSeq !== null) hello.after = state.lastSeq; // resume: nothing is missed
    socket.send(JSON.stringify(hello));
  });
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "ready") {
      state.skew = Date.parse(frame.now) - Date.now();
      $("offline-banner").hidden = true;
      state.retry = 0;
      if (state.lastSeq === null) state.lastSeq = frame.seq;
      refreshSoon();
    } else if (frame.type === "event") {
      state.lastSeq = frame.event.seq;
      refreshSoon();
    }
  });
  socket.addEventListener("close", (event) => {
    if (!state.token || state.socket !== socket) return;
    $("offline-banner").hidden = false;
    if (event.code === 4409) state.lastSeq = null; // too far behind: reload instead
    // Back off to at most 10 s so a server restart is picked up quickly, not hammered.
    state.retry = Math.min((state.retry ?? 0) + 1, 5);
    setTimeout(connect, Math.min(10000, 500 * 2 ** state.retry));
  });
}

function moveSelection(step) {
  const buttons = [...document.querySelectorAll("nav li button")];
  if (!buttons.length) return;
  const current = buttons.findIndex((b) => b.dataset.id === state.open);
  const next = buttons[(current + step + buttons.length) % buttons.length];
  next.focus();
  openConversation(next.dataset.id, { keepFocus: true });
}

$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => act(() => api("/auth/logout", { method: "POST" })).finally(signOut));
$("status").addEventListener("change", (event) =>
  act(() =>
    api(`/agents/${state.me.id}/status`, {
      method: "PUT",
      body: JSON.stringify({ status: event.target.value }),
    }),
  ),
);
// "/" at the start of the reply lists the canned responses whose shortcut matches.
$("reply").addEventListener("input", () => {
  const typed = $("reply").value;
  const match = /^\/(\S*)$/.exec(typed);
  const found = match ? state.canned.filter((c) => c.shortcut.startsWith(match[1])) : [];
  $("canned").hidden = found.length === 0;
  $("canned").replaceChildren(
    ...found.map((c) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `/${c.shortcut} — ${c.text}`;
      button.addEventListener("click", () => {
        $("reply").value = c.text;
        $("canned").hidden = true;
        $("reply").focus();
      });
      item.append(button);
      return item;
    }),
  );
});
$("compose").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply").value;
  act(async () => {
    await api(`/conversations/${state.open}/messages`, {
      method: "POST",
      body: JSON.stringify({ text }),
    });
    $("reply").value = "";
  });
});
$("transfer").addEventListener("submit", (event) => {
  event.preventDefault();
  const queue = $("transfer-queue").value.trim();
  act(async () => {
    await api(`/conversations/${state.open}/transfer`, {
      method: "POST",
      body: JSON.stringify({ to_queue: queue }),
    });
    $("transfer-queue").value = "";
    state.open = null;
    $("thread-view").hidden = true;
  });
});
$("set-aside").addEventListener("click", () =>
  act(() => api(`/conversations/${state.open}/inactive`, { method: "POST" })),
);
$("close").addEventListener("click", () =>
  act(async () => {
    await api(`/conversations/${state.open}/close`, { method: "POST" });
    state.open = null;
    $("thread-view").hidden = true;
  }),
);
// Alt+Down / Alt+Up: next and previous conversation, from anywhere in the desk.
document.addEventListener("keydown", (event) => {
  if (!event.altKey || !state.me) return;
  if (event.key === "ArrowDown") moveSelection(1);
  else if (event.key === "ArrowUp") moveSelection(-1);
  else return;
  event.preventDefault();
});
setInterval(tick, 1000);

if (state.token) start().catch(signOut);
else show("login");
