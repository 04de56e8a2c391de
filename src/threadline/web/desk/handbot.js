// "Hand to bot": the assigned agent lends the conversation to the inbox's bot for one of
// its routines (collecting card details through a secure step, say). The conversation
// leaves the agent's list meanwhile and comes back to them, with what the bot collected,
// when the routine is done.

import { $ } from "./dom.js";
import { act, guard } from "./errors.js";
import { routineLabel } from "./format.js";
import { api, state } from "./state.js";

// What GET /conversations/{id}/bot said for the open conversation: {id, bot, routines}.
let known = null;
let closePane = () => {};

/** Ask which bot and routines the open conversation has, once per conversation, and
 * only when the agent could hand it over (it is assigned to them). */
export async function syncBot(detail) {
  const c = detail.conversation;
  if (known?.id === c.id) return;
  if (c.state !== "assigned" || c.assigned_agent_id !== state.me.id) return;
  try {
    const found = await api(`/conversations/${c.id}/bot`);
    known = { id: c.id, bot: found.bot, routines: found.routines ?? [] };
  } catch {
    // The conversation's other actions work without it; the next refresh asks again.
  }
}

const offered = () => known !== null && known.id === state.open && known.routines.length > 0;

/** Show "Hand to bot…" when the agent may reply (the conversation is theirs) and the
 * bot has routines. */
export function renderBotControl(can) {
  const show = can.reply && offered();
  $("bot-toggle").hidden = !show;
  if (!show) closeBotForm();
}

export function closeBotForm() {
  $("bot-form").hidden = true;
  $("bot-confirm").hidden = true;
  $("bot-ask").hidden = false;
  $("bot-toggle").setAttribute("aria-expanded", "false");
}

/** Forget what was known of the last conversation's bot (the pane is emptied). */
export function forgetBot() {
  known = null;
  closeBotForm();
}

/** What the desk says when a conversation leaves the pane because it went to the bot. */
export function lentNotice(id) {
  const lent = state.lent.get(id);
  const bot = lent?.bot ?? "the bot";
  const routine = lent?.routine ? ` for ${routineLabel(lent.routine)}` : "";
  return `Handed to ${bot}${routine}; it comes back to you when done.`;
}

function toggle() {
  const opening = $("bot-form").hidden;
  if (!opening) {
    closeBotForm();
    $("bot-toggle").focus();
    return;
  }
  $("bot-routine").replaceChildren(
    ...known.routines.map((name) => new Option(routineLabel(name), name)),
  );
  $("bot-form").hidden = false;
  $("bot-toggle").setAttribute("aria-expanded", "true");
  $("bot-routine").focus();
}

// Like closing: the conversation leaves the agent's hands, so it asks first.
function ask(event) {
  event.preventDefault();
  const routine = $("bot-routine").value;
  if (!routine) return;
  const bot = known?.bot ?? "the bot";
  $("bot-question").textContent = `Hand this conversation to ${bot} for ${routineLabel(routine)}?`;
  $("bot-ask").hidden = true;
  $("bot-confirm").hidden = false;
  $("bot-yes").focus();
}

function keep() {
  $("bot-confirm").hidden = true;
  $("bot-ask").hidden = false;
  $("bot-routine").focus();
}

async function handOver() {
  const id = state.open;
  const routine = $("bot-routine").value;
  const bot = known?.bot ?? null;
  $("bot-yes").disabled = true;
  try {
    await act(async () => {
      await api(`/conversations/${id}/bot`, { method: "POST", body: { routine } });
      state.lent.set(id, { bot, routine });
      if (state.open === id) closePane(lentNotice(id));
    });
  } finally {
    $("bot-yes").disabled = false;
  }
}

/** Attach the form; `close(message)` empties the pane, saying why. */
export function initHandToBot(close) {
  closePane = close;
  $("bot-toggle").addEventListener("click", toggle);
  $("bot-cancel").addEventListener("click", toggle);
  $("bot-form").addEventListener("submit", ask);
  $("bot-no").addEventListener("click", keep);
  $("bot-yes").addEventListener("click", guard(handOver));
  $("bot-form").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("bot-confirm").hidden) keep();
    else toggle();
  });
}
