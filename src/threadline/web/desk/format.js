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

