// The live stream (docs/api.md, "The live stream"): one socket, resumed from the last
// event seen after a drop so nothing is missed, and given up only when the token is.

import { API } from "./api.js";

const INVALID_TOKEN = 4401;
const TOO_FAR_BEHIND = 4409;

/**
 * options.hello(): {token, after?}; options.ready(frame); options.event(event);
 * options.typing(frame); options.down(): the socket dropped and a retry is due;
 * options.tooFarBehind(): forget the position, the next "ready" means reload;
 * options.invalidToken(): the server refused the token, so retrying is pointless.
 */
export function openStream(options) {
  let socket = null;
  let retries = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const current = new WebSocket(`${scheme}://${location.host}${API}/stream`);
    socket = current;
    current.addEventListener("open", () => current.send(JSON.stringify(options.hello())));
    current.addEventListener("message", (message) => {
      if (stopped || socket !== current) return; // signed out meanwhile
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return; // not ours to understand; the next frame may be
      }
      if (frame.type === "ready") {
        retries = 0;
        options.ready(frame);
      } else if (frame.type === "event") {
        options.event(frame.event);
      } else if (frame.type === "typing") {
        options.typing(frame);
      }
    });
    current.addEventListener("close", (event) => {
      if (stopped || socket !== current) return;
      if (event.code === INVALID_TOKEN) {
        stopped = true;
        options.invalidToken();
        return;
      }
      if (event.code === TOO_FAR_BEHIND) {
        options.tooFarBehind();
        timer = setTimeout(connect, 0); // nothing to wait for: the server is there
        return;
      }
      options.down();
      // Back off to at most 10 s so a server restart is picked up quickly, not hammered.
      retries = Math.min(retries + 1, 5);
      timer = setTimeout(connect, Math.min(10000, 500 * 2 ** retries));
    });
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    },
  };
}
