// The panel's half of the postMessage protocol with loader.js in the host page: every
// message either side sends is named here, so the two files can be read side by side.

export const FRAMED = window.parent !== window;

function tell(message) {
  if (!FRAMED) return;
  // Nothing private goes this way (open/close and a count), so any parent may hear it;
  // Chromium names the parent's origin, which narrows it anyway.
  const target = location.ancestorOrigins?.[0] || "*";
  window.parent.postMessage(message, target);
}

// The loader answers with threadline:init (it also sends one when the frame loads).
export const tellReady = () => tell({ type: "threadline:ready" });
export const askToClose = () => tell({ type: "threadline:close" });
export const tellUnread = (count) => tell({ type: "threadline:unread", count });

// handlers: init({ open: boolean | null, identity: string | null }), open(), hide().
export function listenToParent({ init, open, hide }) {
  window.addEventListener("message", (event) => {
    // Only the page that embeds this frame. Its origin cannot be known here (any allowed
    // site may embed the widget); the identity it passes is verified by the server.
    if (!FRAMED || event.source !== window.parent) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "threadline:init") {
      init({
        open: typeof data.open === "boolean" ? data.open : null,
        identity: typeof data.identity === "string" && data.identity ? data.identity : null,
      });
    } else if (data.type === "threadline:open") {
      open();
    } else if (data.type === "threadline:hide") {
      hide();
    }
  });
}
