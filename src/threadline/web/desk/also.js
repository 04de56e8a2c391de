// The customer on other channels: "Also on: WhatsApp, SMS" in the conversation's
// header, each a link that opens their conversation there when this agent may see it
// (GET /conversations?customer_id=…), else the channel's name alone.

import { $, el } from "./dom.js";
import { channelLabel } from "./format.js";
import { api, state } from "./state.js";

let shownFor = null; // conversation id and the other channels last drawn for it
let resolved = true; // every other channel had a conversation to link to
let ticket = 0;
let opener = () => {};

/** `open(id)` opens a conversation in the pane, as a click in the list does. */
export function initAlsoOn(open) {
  opener = open;
}

function link(channel, conversation) {
  const label = channelLabel(channel);
  if (!conversation) return el("span", { className: "channel", text: label });
  const a = el("a", { text: label, attrs: { href: `#conversation-${conversation.id}` } });
  a.addEventListener("click", (event) => {
    event.preventDefault(); // the desk has no pages: the pane changes instead
    opener(conversation.id);
  });
  return a;
}

/** Draw the line for `detail` (GET /conversations/{id}); quiet when nothing changed. */
export async function renderAlsoOn(detail) {
  const c = detail.conversation;
  const identities = detail.customer?.identities ?? [];
  const others = [...new Set(identities.map((i) => i.channel))].filter((ch) => ch !== c.channel);
  const key = `${c.id} ${others.sort().join(" ")}`;
  // Drawn again while a channel has no conversation yet: the customer may write there.
  if (key === shownFor && resolved) return;
  shownFor = key;
  const mine = ++ticket;
  if (others.length === 0) {
    resolved = true;
    $("also-on").hidden = true;
    $("also-on-links").replaceChildren();
    return;
  }
  resolved = false; // until the answer is drawn: a failed request is asked again
  const found = await api(`/conversations?customer_id=${c.customer_id}&limit=200`);
  if (mine !== ticket || state.open !== c.id) return;
  const newest = new Map();
  for (const other of found) {
    const had = newest.get(other.channel);
    if (other.id !== c.id && (!had || other.updated_at > had.updated_at)) {
      newest.set(other.channel, other);
    }
  }
  resolved = others.every((ch) => newest.has(ch));
  const links = others.map((ch) => link(ch, newest.get(ch)));
  $("also-on-links").replaceChildren(...links.flatMap((a, i) => (i ? [", ", a] : [a])));
  $("also-on").hidden = false;
}

export function clearAlsoOn() {
  ticket++;
  shownFor = null;
  resolved = true;
  $("also-on").hidden = true;
  $("also-on-links").replaceChildren();
}
