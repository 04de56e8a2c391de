// The web chat panel, inside the iframe that loader.js adds to a business's page
// (issue 4). Plain ES modules, no build step, on Threadline's origin: the visitor's token
// lives in this frame's storage and never reaches the host page. This entry module wires
// the others to the page and to the loader:
//
//   parent.js   the postMessage protocol with loader.js
//   state.js    the widget key and what the panel knows, shared by all
//   api.js      requests to the API, and which failures to retry
//   storage.js  where the visitor's token is kept
//   session.js  starting and resuming the visitor's session, and its refusals
//   live.js     history, then live updates by WebSocket or long polling
//   thread.js   the messages on screen, statuses, read receipts, the agent's typing
//   composer.js sending in order, retries, the visitor's typing

import { ApiError, api } from "./api.js";
import { setUpComposer } from "./composer.js";
import { onExpired } from "./live.js";
import { FRAMED, askToClose, listenToParent, tellReady } from "./parent.js";
import { chatAsGuest, ensureSession, initialise, sessionEnded, unavailable } from "./session.js";
import { $, KEY, state } from "./state.js";
import { afterChange, render } from "./thread.js";

function setOpen(open) {
  state.open = open;
  if (open && state.identity && !state.session && !state.identityFailed) ensureSession();
  afterChange();
}

function focusComposer() {
  if (!$("identity-failed").hidden) $("as-guest").focus();
  else if (!$("text").disabled) $("text").focus();
}

// The inbox's title, greeting and accent colour.
async function configure() {
  try {
    const config = await api(`widget/${encodeURIComponent(KEY)}/config`, { auth: false });
    if (config.title) {
      $("title").textContent = config.title;
      document.title = config.title;
    }
    $("greeting").textContent = config.greeting ?? "";
    $("greeting").hidden = !config.greeting;
    if (/^#[0-9a-f]{6}$/i.test(config.accent_color ?? "")) {
      // Custom properties set from script: allowed by the frame's style-src 'self'.
      const root = document.documentElement.style;
      root.setProperty("--accent", config.accent_color);
      root.setProperty("--on-accent", contrastText(config.accent_color));
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      unavailable("This chat is not available right now.");
    }
  }
}

// Black or white, whichever reads better on the accent (WCAG relative luminance).
function contrastText(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

listenToParent({
  init({ open, identity }) {
    if (open !== null) setOpen(open);
    initialise(identity);
  },
  open() {
    setOpen(true);
    focusComposer();
  },
  hide() {
    setOpen(false);
  },
});
onExpired(sessionEnded);
setUpComposer();
$("close").addEventListener("click", askToClose);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && FRAMED) askToClose();
});
document.addEventListener("visibilitychange", () => afterChange());
$("as-guest").addEventListener("click", () => {
  chatAsGuest();
  $("text").focus();
});
$("close").hidden = !FRAMED;

configure();
render();
if (FRAMED) {
  tellReady();
  // Not embedded by the loader after all (a page that frames frame.html itself): chat
  // anonymously.
  setTimeout(() => {
    if (!state.initialised) initialise(null);
  }, 2000);
} else {
  initialise(null); // frame.html opened on its own
}
