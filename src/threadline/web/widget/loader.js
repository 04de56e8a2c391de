// Threadline web chat: the one script a business adds to its pages (issue 4).
//
//   <script src="https://HOST/widget/loader.js" data-key="wk_…" async></script>
//
// It runs in the host page, so it keeps to itself: no global but window.Threadline, no
// <style> element or style attribute (the host page may have a strict CSP; properties
// set through element.style are allowed), the launcher in a shadow root so the page's
// CSS cannot reach it. Everything the visitor writes and reads, and the visitor's token,
// stay inside the iframe on Threadline's origin: the page only ever learns "open",
// "closed" and the unread count.
(() => {
  "use strict";
  if (window.Threadline) return; // the tag was included twice

  const script =
    document.currentScript ?? document.querySelector('script[src*="/widget/loader.js"][data-key]');
  const key = script?.dataset.key;
  if (!key) {
    console.warn("Threadline: the widget's <script> tag needs data-key=\"wk_…\"");
    return;
  }
  const identity = script.dataset.identity || null;
  const base = new URL(".", script.src); // …/widget/ on Threadline's origin
  const origin = base.origin; // the only origin the iframe's messages may come from
  const frameUrl = new URL("frame.html", base);
  frameUrl.searchParams.set("key", key);
  const configUrl = new URL(`../api/v1/widget/${encodeURIComponent(key)}/config`, base);

  const Z = "2147483000";
  const phone = window.matchMedia("(max-width: 480px)");
  const state = { open: false, unread: 0, frameReady: false, built: false, wanted: null };

  const css = (element, styles) => {
    for (const [name, value] of Object.entries(styles)) {
      element.style.setProperty(name, value, "important");
    }
    return element;
  };

  // Dark or light text on the business's colour, whichever contrasts more (WCAG).
  function textOn(hex) {
    const channel = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
  }

  const host = css(document.createElement("threadline-widget"), { all: "initial" });
  const root = host.attachShadow({ mode: "open" });

  const frame = document.createElement("iframe");
  frame.src = frameUrl.href;
  frame.title = "Chat";
  css(frame, {
    position: "fixed",
    display: "none",
    border: "0",
    margin: "0",
    padding: "0",
    background: "#ffffff",
    "color-scheme": "normal",
    "z-index": Z,
  });

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  css(launcher, {
    position: "fixed",
    right: "20px",
    bottom: "20px",
    width: "56px",
    height: "56px",
    margin: "0",
    padding: "0",
    border: "0",
    "border-radius": "50%",
    display: "flex",
    "align-items": "center",
    "justify-content": "center",
    cursor: "pointer",
    "box-shadow": "0 4px 14px rgba(0, 0, 0, 0.25)",
    "z-index": Z,
  });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const bubble = document.createElementNS("http://www.w3.org/2000/svg", "path");
  bubble.setAttribute(
    "d",
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  );
  bubble.setAttribute("fill", "currentColor");
  svg.append(bubble);
  const badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true"); // the count is in the button's name
  css(badge, {
    position: "absolute",
    top: "-4px",
    right: "-4px",
    "min-width": "20px",
    height: "20px",
    padding: "0 5px",
    "box-sizing": "border-box",
    "border-radius": "10px",
    background: "#b3261e",
    color: "#ffffff",
    font: "700 12px/20px system-ui, sans-serif",
    "text-align": "center",
    display: "none",
  });
  launcher.append(svg, badge);
  root.append(frame, launcher);

  function layout() {
    if (phone.matches) {
      // A phone: the panel is the whole screen; its own header has the close button.
      css(frame, {
        top: "0",
        left: "0",
        right: "0",
        bottom: "0",
        width: "100%",
        height: "100%",
        "max-width": "none",
        "max-height": "none",
        "border-radius": "0",
        "box-shadow": "none",
      });
    } else {
      css(frame, {
        top: "auto",
        left: "auto",
        right: "20px",
        bottom: "88px",
        width: "380px",
        height: "560px",
        "max-width": "calc(100% - 40px)",
        "max-height": "calc(100% - 108px)",
        "border-radius": "12px",
        "box-shadow": "0 8px 30px rgba(0, 0, 0, 0.25)",
      });
    }
    css(launcher, { display: state.open && phone.matches ? "none" : "flex" });
  }

  function label() {
    const unread = state.unread;
    const suffix = unread ? `, ${unread} unread message${unread === 1 ? "" : "s"}` : "";
    launcher.setAttribute("aria-label", state.open ? "Close chat" : `Open chat${suffix}`);
    badge.textContent = unread > 99 ? "99+" : String(unread);
    css(badge, { display: unread && !state.open ? "block" : "none" });
  }

  function tell(message) {
    frame.contentWindow?.postMessage(message, origin);
  }

  function init() {
    // The identity goes to Threadline's origin only (targetOrigin), never elsewhere.
    tell({ type: "threadline:init", identity, open: state.open });
  }

  function setOpen(open, { focus = true } = {}) {
    if (!state.built) {
      state.wanted = open; // before the configuration has arrived
      return;
    }
    if (open === state.open) return;
    state.open = open;
    launcher.setAttribute("aria-expanded", String(open));
    css(frame, { display: open ? "block" : "none" });
    layout();
    label();
    tell({ type: open ? "threadline:open" : "threadline:hide" });
    if (!focus) return;
    if (open) frame.focus(); // the frame then puts the focus in its composer
    else launcher.focus();
  }

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || event.origin !== origin) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "threadline:ready") init();
    else if (data.type === "threadline:close") setOpen(false);
    else if (data.type === "threadline:unread") {
      state.unread = Math.max(0, Number(data.count) || 0);
      label();
    }
  });
  frame.addEventListener("load", init);
  launcher.addEventListener("click", () => setOpen(!state.open));
  phone.addEventListener("change", layout);

  window.Threadline = Object.freeze({
    open: () => setOpen(true),
    close: () => setOpen(false),
    toggle: () => setOpen(!state.open),
  });

  // In the page at once, so the iframe loads while the configuration is fetched; the
  // launcher shows when the configuration (its colour) has arrived.
  css(launcher, { display: "none" });
  const mount = () => (document.body ?? document.documentElement).append(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  fetch(configUrl, { credentials: "omit" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((config) => {
      const accent = /^#[0-9a-f]{6}$/i.test(config.accent_color ?? "")
        ? config.accent_color
        : "#1f4fd1";
      css(launcher, { background: accent, color: textOn(accent) });
      if (config.title) frame.title = `Chat: ${config.title}`;
      state.built = true;
      layout();
      label();
      if (state.wanted !== null) setOpen(state.wanted, { focus: false });
    })
    .catch((problem) => {
      host.remove();
      console.warn(`Threadline: the chat widget ${key} is not available (${problem})`);
    });
})();
