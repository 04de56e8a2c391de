// The supervisor's floor: today's proactive notifications, per template (GET
// /reports/notifications): what went out, what came back, what the rules held back.
//
// The floor reloads the report with everything else on each refresh, but a
// notification's decisions (sent, deferred, suppressed) are not events on the stream:
// a batch the rules hold back changes nothing else on the floor. So while the floor is
// on screen the report is also reloaded on a timer.

import { ApiError } from "./api.js";
import { $, el } from "./dom.js";
import { guard, report } from "./errors.js";
import { percent } from "./format.js";
import { api, state } from "./state.js";

// 30 s: these are a day's counts and rates, read at a glance; a supervisor needs them
// current to within a minute, not to the second (the dispatcher decides every second
// or so, and any event on the stream reloads them sooner). One grouped query per open
// floor every 30 s is little next to what the desk's own refreshes ask for.
const RELOAD_MS = 30_000;

const COLUMNS = 8; // the table's, for the empty state's one cell across them all

// Why the governance checks held a notification back, as a supervisor would say it
// (the API's rule names, in the decisions feed, are the ids). A rule not listed here,
// such as a business's own cap, is shown by its name.
const RULES = {
  expired: "expired",
  no_consent: "no consent",
  no_marketing_opt_in: "no marketing opt-in",
  opted_out_of_channel: "opted out of the channel",
  opted_out_of_purpose: "opted out of this purpose",
  no_channel: "no channel to send on",
  no_address: "no address on the channel",
  several_addresses: "several addresses on the channel",
  no_sender: "no inbox sends on the channel",
  no_variant: "no text for the channel",
  template_not_approved: "template not approved",
  channel_failed: "the channel failed",
  frequency_cap: "frequency cap",
  quiet_hours: "quiet hours",
  reg_f_7_in_7: "Regulation F: 7 in 7 days",
  reg_f_after_conversation: "Regulation F: 7 days after a conversation",
};

const ruleLabel = (rule) => RULES[rule] ?? String(rule).replaceAll("_", " ");

// The last answer shown, or why there is none; `rows` stays null until one arrives.
let figures = { rows: null, error: null };
let asked = 0; // requests made so far
let answered = 0; // the request whose answer `figures` holds
let timer = null;

/** Ask for today's figures; false if the answer is stale (a later one is in, or the
 * desk signed out meanwhile) and must not be painted. Never throws: the floor works
 * without them. */
export async function loadNotices() {
  const ticket = ++asked;
  const session = state.session;
  let found;
  try {
    found = { rows: await api("/reports/notifications"), error: null };
  } catch (error) {
    // Offline or signed out: the banner or the sign-in form says so, and the last
    // figures stay on screen meanwhile. The server's refusal is shown instead of them.
    found = error instanceof ApiError ? { rows: null, error } : { ...figures, error };
  }
  if (session !== state.session || ticket < answered) return false;
  answered = ticket;
  figures = found;
  return true;
}

/** Reload on a timer while the floor is on screen (idempotent; stopped at sign-out). */
export function watchNotices() {
  if (timer !== null) return;
  timer = setInterval(guard(reloadIfShown, () => $("notice-error")), RELOAD_MS);
}

async function reloadIfShown() {
  // Behind the Conversation tab, or in a background browser tab, nobody reads them.
  const shown = document.visibilityState === "visible" && $("notices").checkVisibility();
  if (!state.me || !shown) return;
  if (await loadNotices()) renderNotices();
}

function figure(name, text) {
  const td = el("td", { text });
  td.dataset.figure = name;
  return td;
}

/** A count with its rate, "3 (75%)"; the count alone when there is nothing to rate. */
const withRate = (count, rate) =>
  rate === null || rate === undefined ? String(count) : `${count} (${percent(rate)})`;

/** "3 — no marketing opt-in: 2, expired: 1", most frequent rule first. */
function byRule(count, rules) {
  const found = Object.entries(rules ?? {})
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (found.length === 0) return String(count);
  return `${count} — ${found.map(([rule, n]) => `${ruleLabel(rule)}: ${n}`).join(", ")}`;
}

function row(f) {
  const purpose = el("span", {
    className: "purpose",
    text: `(${String(f.purpose).replaceAll("_", " ")})`,
  });
  const name = el("th", { attrs: { scope: "row" } }, f.template, " ", purpose);
  const tr = el(
    "tr",
    {},
    name,
    figure("sent", String(f.sent)),
    figure("delivered", withRate(f.delivered, f.delivery_rate)),
    figure("replied", withRate(f.replied, f.reply_rate)),
    figure("deflected", withRate(f.deflected, f.deflection_rate)),
    figure("handed-off", String(f.handed_off)),
    figure("suppressed", byRule(f.suppressed, f.suppressed_by_rule)),
    figure("deferred", byRule(f.deferrals, f.deferred_by_rule)),
  );
  tr.dataset.template = f.template;
  return tr;
}

/** Paint the last figures: a row per template, or the empty state, or why not. */
export function renderNotices() {
  const body = $("notices").tBodies[0];
  $("notice-error").textContent = "";
  if (figures.error) report(figures.error, $("notice-error"));
  if (figures.rows === null) {
    body.replaceChildren();
  } else if (figures.rows.length === 0) {
    const none = el("td", { text: "No notifications today", attrs: { colspan: String(COLUMNS) } });
    body.replaceChildren(el("tr", { className: "empty" }, none));
  } else {
    body.replaceChildren(...figures.rows.map(row));
  }
}

export function clearNotices() {
  clearInterval(timer);
  timer = null;
  figures = { rows: null, error: null };
  answered = ++asked; // an answer still on its way is for a desk that has gone
  $("notices").tBodies[0].replaceChildren();
  $("notice-error").textContent = "";
}
