// One message of the thread: who sent it and when, on which channel, whether it was
// delivered (and the provider's reason when not), and what the customer attached.
// Everything a customer or a provider wrote goes in as text; attachments are never
// fetched into the desk (no <img>), only linked when the provider gave an https URL.

import { el } from "./dom.js";
import { channelLabel, deliveryLabel } from "./format.js";
import { state } from "./state.js";

// `bots`: message id → the name of the bot that wrote it (from the conversation's
// events); said as a bot's, so nobody takes its words for a colleague's.
function sender(m, customer, bots) {
  if (m.direction === "inbound") return customer;
  if (m.sender_type === "bot") {
    const name = bots?.get(m.id);
    return name ? `${name} (bot)` : "Bot";
  }
  if (m.sender_type === "system") return "System";
  if (m.sender_agent_id && m.sender_agent_id === state.me.id) return "You";
  // Agents may not list agents: only a supervisor's desk knows the other names.
  return state.agents.get(m.sender_agent_id)?.display_name ?? "Agent";
}

const failed = (m) => m.direction === "outbound" && m.delivery_status === "failed";

function meta(m, customer, channel, bots) {
  const time = new Date(m.created_at);
  const parts = [
    sender(m, customer, bots),
    time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    channelLabel(channel),
  ];
  const span = el("span", { className: "meta", text: parts.join(" · ") });
  if (m.direction === "outbound") {
    const status = el("span", { className: "delivery", text: deliveryLabel(m.delivery_status) });
    span.append(" · ", status);
  }
  span.title = time.toLocaleString();
  return span;
}

/** What the item shows that can change after it is drawn: redrawn when this does. */
export function fingerprint(m, customer, channel, bots) {
  const who = sender(m, customer, bots);
  return JSON.stringify([who, channel, m.delivery_status, m.delivery_error]);
}

// The text the server gives a message that is only media ("[image/jpeg]" a line):
// the attachment list says it better, so it is not shown twice.
const placeholder = (attachments) => attachments.map((a) => `[${a.content_type}]`).join("\n");

function https(url) {
  try {
    return new URL(url).protocol === "https:";
  } catch {
    return false;
  }
}

function attachmentItem(a, text) {
  const label = `Attachment: ${a.content_type}`;
  const item = el("li");
  if (a.url && https(a.url)) {
    // A new tab, with no window.opener and no Referer: the provider's page is not ours.
    const attrs = { href: a.url, target: "_blank", rel: "noopener noreferrer" };
    const link = el("a", { text: label, attrs });
    link.append(el("span", { className: "visually-hidden", text: " (opens in a new tab)" }));
    item.append(link);
  } else {
    item.append(el("span", { text: label }));
  }
  // A WhatsApp caption is also the message's text: said once.
  if (a.caption && a.caption !== text) {
    item.append(el("span", { className: "caption", text: a.caption, attrs: { dir: "auto" } }));
  }
  return item;
}

/** The thread's item for message `m` of a conversation on `channel`. */
export function messageItem(m, customer, channel, bots) {
  const item = el("li", { className: m.direction });
  item.dataset.id = m.id;
  item.dataset.seq = String(m.seq);
  item.dataset.shown = fingerprint(m, customer, channel, bots);
  if (m.sender_type === "bot") item.classList.add("bot");
  if (failed(m)) item.classList.add("failed");
  item.append(meta(m, customer, channel, bots));
  const attachments = m.attachments ?? [];
  if (!attachments.length || m.text !== placeholder(attachments)) {
    // dir=auto: Arabic or Hebrew text runs right to left, whatever the desk's language.
    item.append(el("span", { className: "text", text: m.text, attrs: { dir: "auto" } }));
  }
  if (attachments.length) {
    const list = el("ul", { className: "attachments", attrs: { "aria-label": "Attachments" } });
    list.append(...attachments.map((a) => attachmentItem(a, m.text)));
    item.append(list);
  }
  if (failed(m)) {
    const reason = m.delivery_error ? `Not delivered: ${m.delivery_error}` : "Not delivered";
    item.append(el("span", { className: "delivery-error", text: reason, attrs: { dir: "auto" } }));
  }
  return item;
}
