// Where the visitor's token is kept: this frame's own storage, on Threadline's origin,
// keyed by the widget key, so the host page never sees it.
//
// localStorage first: partitioned by the host site in current browsers. Where the browser
// denies an embedded frame all storage (third-party cookies blocked, without storage
// partitioning), a partitioned cookie (CHIPS) of this origin, readable by this frame
// alone; failing both, the chat works for this page view and is not remembered.
//
// The record is { token, sub }: sub is the signed-in subject the token belongs to, or
// null for an anonymous visitor (session.js decides whose a stored token may be).

import { KEY } from "./state.js";

const STORE = `threadline:visitor:${KEY}`;
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

export function stored() {
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

// store(null) forgets the visitor.
export function store(record) {
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
