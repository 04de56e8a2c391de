// Words shown for the API's values. Every status is said in words, so nothing relies
// on colour alone (WCAG 1.4.1).

// "Due soon" in the last minute before the respond-by time, "Late" once it has passed.
const DUE_SOON_SECONDS = 60;

function clock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The countdown to a respond-by time, `seconds` from now (negative: past it). */
export function due(seconds) {
  if (seconds < 0) return { text: `Late by ${clock(-seconds)}`, level: "late" };
  if (seconds < DUE_SOON_SECONDS) {
    return { text: `Due soon: ${clock(seconds)} left`, level: "soon" };
  }
  return { text: `${clock(seconds)} left`, level: "" };
}

const DELIVERY = {
  queued: "Not yet sent",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not delivered",
  received: "Received",
};

export const deliveryLabel = (status) => DELIVERY[status] ?? status;

// The channel a conversation runs on, as agents call it.
const CHANNELS = {
  sms: "SMS",
  whatsapp: "WhatsApp",
  messenger: "Messenger",
  rcs: "RCS",
  apple: "Apple Messages",
  web: "Web chat",
  app: "In-app",
  api: "API",
};

export const channelLabel = (channel) => CHANNELS[channel] ?? channel;

const VERIFICATION = {
  verified: "Verified",
  identified: "Identified",
  anonymous: "Anonymous",
};

export const verificationLabel = (level) => VERIFICATION[level] ?? null;

const STATUS = { online: "Online", away: "Away", offline: "Offline" };

export const statusLabel = (status) => STATUS[status] ?? status;

/** A summary's customer: their name, else the channel they wrote on (no address there). */
export function summaryCustomer(summary) {
  if (summary.customer_name) return summary.customer_name;
  if (summary.channel === "web") return webVisitor(summary.customer_id);
  return `Customer · ${summary.channel}`;
}

// An anonymous web visitor's address is a long random id: a short, stable label tells
// two of them apart in the list, the thread and the floor alike.
const webVisitor = (customerId) => `Web visitor ${String(customerId).slice(0, 6)}`;

/** A customer record: their name, else their address on the conversation's channel. */
export function customerLabel(customer, channel) {
  if (customer?.display_name) return customer.display_name;
  const identities = customer?.identities ?? [];
  if (customer?.id && identities.some((i) => i.channel === "web")) return webVisitor(customer.id);
  const address = (identities.find((i) => i.channel === channel) ?? identities[0])?.address;
  return address || `Customer · ${channel}`;
}

/** An agent as a choice for new work: their load against their maximum. */
export const agentChoice = (a) => `${a.display_name} (load ${a.active_count}/${a.max_load})`;


// Why a bot passed a conversation on, as the agent would say it (the handoff panel and
// the floor's escalations by reason share the words).
const HANDOFF_REASONS = {
  customer_asked: "the customer asked for a person",
  fallbacks: "the bot did not understand the customer",
  flow: "the flow hands this over to a person",
  verification_failed: "the customer could not prove who they are",
  lookup_failed: "a lookup in the business's system failed",
  bot_unavailable: "the bot was slow or down",
  routine_done: "the routine an agent handed to the bot is done",
};

/** A handoff reason in words (lower case, to go into a sentence); unknown: as given. */
export const handoffReason = (reason) => HANDOFF_REASONS[reason] ?? String(reason);

export const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** A routine's name as words: "collect_payment" → "collect payment". */
export const routineLabel = (name) => String(name).replaceAll("_", " ");

/** A wait in words ("45 s", "1 min 20 s", "2 h 5 min"); "—" when there is none. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  // Seconds stop mattering once a wait runs to hours.
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

/** A rate from 0 to 1 as a whole percentage; "—" when there is nothing to rate. */
export const percent = (rate) =>
  rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
