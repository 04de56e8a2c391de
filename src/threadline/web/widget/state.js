// What the panel's modules share: which widget this frame is for, and one object for what
// it knows of the visitor's conversation, so that a restart (a late identity, a token the
// server forgot) resets it in one place.

import { FRAMED } from "./parent.js";

export const KEY = new URLSearchParams(location.search).get("key") ?? "";
export const $ = (id) => document.getElementById(id);

export const state = {
  token: null,
  identity: null, // the JWT from the host page's script tag, if any
  initialised: false,
  session: null, // the promise of the running session start
  identityFailed: false,
  unavailable: false,
  open: !FRAMED, // the panel is showing (a frame opened directly always is)
  items: new Map(), // key → a message from the server, or one still being sent
  order: 0,
  lastSeq: 0, // messages fetched up to here (the cursor for after_seq)
  eventSeq: null, // the stream position to resume from
  agentReadSeq: 0,
  readSeq: 0, // the visitor has seen agent messages up to here
  unreadSent: null,
  agentName: null,
  closed: false,
  named: false,
};
