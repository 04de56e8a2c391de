// What the open conversation's channel takes from the agent now (GET …/channel):
// nothing after the customer's STOP; more than 24 hours after they last wrote, only an
// approved template (WhatsApp) or a message with a tag that says why (Messenger). The
// server enforces all of it (409); the desk says it before the agent writes, and keeps
// the reply box in step with it.

import { ApiError } from "./api.js";
import { onTick } from "./countdown.js";
import { $ } from "./dom.js";
import { channelLabel } from "./format.js";
import { api, state } from "./state.js";
import { forgetTemplates, hideTemplates, showTemplates } from "./templates.js";

// Messenger's tags, the human agent's first: the one a person's late reply needs.
const TAGS = {
  HUMAN_AGENT: "Human agent (up to 7 days)",
  ACCOUNT_UPDATE: "Account update (not promotional)",
  CONFIRMED_EVENT_UPDATE: "Confirmed event update",
  POST_PURCHASE_UPDATE: "Post-purchase update",
};
const tagLabel = (tag) => TAGS[tag] ?? tag.replaceAll("_", " ").toLowerCase();
const tagOrder = (tag) => (tag === "HUMAN_AGENT" ? 0 : 1);

// The channel's window, as the server states it (24 hours on WhatsApp and Messenger).
const lateText = (rules) =>
  `More than ${rules?.window_hours ?? 24} hours since the customer last wrote`;
// "Reply window closes in N min" from an hour before it does.
const WARN_MS = 60 * 60 * 1000;

// {id, rules}: the last answer for the open conversation. `keywords`: what customers
// sent to opt out, as the desk heard it live (the rules say it too, once fetched).
let current = null;
const keywords = new Map(); // conversation id → "STOP", "UNSUBSCRIBE"…
let can = { reply: false };
let fetchedFor = null; // what the rules were fetched for: see ruleKey
let ticket = 0;
let expiredFor = null; // the window that was seen to close (fetched again once)

// What can change the channel's answer: another conversation, a state change (a STOP
// closes it), a new customer message (it reopens the window).
const ruleKey = (c) => `${c.id} ${c.state} ${c.last_customer_message_at}`;

function rulesFor(c) {
  return c && current && current.id === c.id ? current.rules : null;
}

/** Fetch the rules when the open conversation changed in a way that may change them. */
export async function syncChannel(detail) {
  if (fetchedFor === ruleKey(detail.conversation)) return;
  await reloadChannel(detail.conversation);
}

/** Fetch the open conversation's rules again (a 409 said they changed). */
export async function reloadChannel(c = state.detail?.conversation) {
  if (!c) return;
  const mine = ++ticket;
  fetchedFor = ruleKey(c);
  let rules;
  try {
    rules = await api(`/conversations/${c.id}/channel`);
  } catch (error) {
    // Gone or not this agent's any more: loadOpen says so. An older server without
    // the endpoint: no rules, the server still refuses what its channel cannot take.
    if (!(error instanceof ApiError)) {
      fetchedFor = null;
      throw error;
    }
    rules = null;
  }
  if (mine !== ticket || state.open !== c.id) return;
  current = { id: c.id, rules };
  renderRules();
}

/** customer.consent_changed: the customer texted STOP or START. */
export function consentChanged(event) {
  const c = state.detail?.conversation;
  const p = event.payload ?? {};
  const here = event.conversation_id === c?.id;
  const sameCustomer = p.customer_id === c?.customer_id && p.channel === c?.channel;
  if (!c || !(here || sameCustomer)) return;
  const keyword = String(p.keyword ?? "").trim();
  const where = channelLabel(p.channel ?? c.channel);
  if (p.state === "opted_out") {
    if (keyword) keywords.set(c.id, keyword);
    $("channel-notice").textContent =
      `The customer sent ${keyword || "STOP"}: nothing more can be sent to them on ${where}.`;
  } else {
    keywords.delete(c.id);
    $("channel-notice").textContent =
      `The customer sent ${keyword || "START"}: they take messages on ${where} again.`;
  }
  reloadChannel().catch(() => {}); // the next refresh tries again
}

/** The extra fields a free-text reply needs now: a Messenger tag outside the window. */
export function replyExtras() {
  return $("tag-field").hidden ? {} : { tag: $("message-tag").value };
}

/** The reply box may not send now (opted out, or nothing the channel takes). */
export const replyBlocked = () => $("reply").disabled;

function optOutText(c) {
  const keyword = keywords.get(c.id) ?? rulesFor(c)?.opted_out_keyword ?? "STOP";
  return `The customer opted out of messages on ${channelLabel(c.channel)} (they sent ${keyword})`;
}

function showTags(tags) {
  const wanted = [...tags].sort((a, b) => tagOrder(a) - tagOrder(b));
  const select = $("message-tag");
  const have = [...select.options].map((o) => o.value);
  // Rebuilt only when the choice changes, so a refresh keeps what the agent picked.
  if (JSON.stringify(have) !== JSON.stringify(wanted)) {
    const picked = select.value;
    select.replaceChildren(...wanted.map((tag) => new Option(tagLabel(tag), tag)));
    if (wanted.includes(picked)) select.value = picked;
  }
  $("tag-field").hidden = false;
}

function setBlocked(blocked) {
  $("reply").disabled = blocked;
  // A send in flight keeps its button disabled until it is answered (compose.js).
  $("send").disabled = blocked || $("compose").hasAttribute("aria-busy");
  $("compose").classList.toggle("blocked", blocked);
}

/**
 * Narrow the reply box to what the channel takes. `permissions` (from thread.js) says
 * whether this agent may reply at all; without an argument the last one holds.
 */
export function renderRules(permissions = can) {
  can = permissions;
  const c = state.detail?.conversation;
  const rules = rulesFor(c);
  const me = state.me?.id;
  const optedOut = rules?.opted_out === true;
  // After a STOP the conversation closes; the agent who had it sees why nothing goes.
  const hadIt = c != null && (c.assigned_agent_id === me || c.owner_agent_id === me);
  const writing = can.reply || (optedOut && hadIt);
  const late = can.reply && !optedOut && rules !== null && rules.window_open === false;
  const template = late && rules.templates.length > 0;
  const tag = late && !template && rules.tags.length > 0;
  const blocked = writing && (optedOut || (late && !template && !tag));

  $("compose").hidden = !writing || template;
  $("compose-note").hidden = writing; // thread.js wrote why this agent does not reply
  setBlocked(blocked);
  if (tag) showTags(rules.tags);
  else $("tag-field").hidden = true;
  if (template) showTemplates(rules.templates);
  else hideTemplates();

  let note = "";
  if (writing && optedOut) note = optOutText(c);
  else if (template) note = `${lateText(rules)}: send an approved template`;
  else if (tag) note = `${lateText(rules)}: Messenger takes only a message with a tag saying why`;
  else if (late) note = `${lateText(rules)}: nothing can be sent until they write again`;
  $("channel-note").textContent = note;
  $("channel-note").hidden = note === "";
  paintWindow(Date.now() + state.skew);
}

// "Reply window closes in N min", in the last hour of an open window; when it closes
// the rules are fetched again (once), so the reply box changes before a send fails.
function paintWindow(now) {
  const c = state.detail?.conversation;
  const rules = rulesFor(c);
  const closes = rules?.window_open && rules.window_closes_at ? rules.window_closes_at : null;
  const left = closes ? Date.parse(closes) - now : Infinity;
  const shown = can.reply && !rules?.opted_out && left > 0 && left <= WARN_MS;
  const due = $("window-due");
  due.hidden = !shown;
  due.textContent = shown ? `Reply window closes in ${Math.ceil(left / 60000)} min` : "";
  if (closes && left <= 0 && expiredFor !== `${c.id} ${closes}`) {
    expiredFor = `${c.id} ${closes}`;
    reloadChannel().catch(() => {});
  }
}

onTick(paintWindow);

/** Forget the rules: another conversation is opened, or none. */
export function forgetChannel() {
  ticket++;
  current = null;
  fetchedFor = null;
  can = { reply: false };
  $("channel-notice").textContent = "";
  $("channel-note").textContent = "";
  $("channel-note").hidden = true;
  $("window-due").hidden = true;
  $("tag-field").hidden = true;
  setBlocked(false);
  forgetTemplates();
}

/** Sign-out: nothing heard live is kept. */
export function forgetKeywords() {
  keywords.clear();
}
