// Every respond-by on screen counts down on the server's clock, not the laptop's.

import { due } from "./format.js";
import { state } from "./state.js";

// Other countdowns (the reply window of a conversation) repaint with the same tick.
const listeners = [];

/** `paint(now)` runs at every tick with the server's time in milliseconds. */
export function onTick(paint) {
  listeners.push(paint);
}

/** Repaint every `.due[data-due]` now (each render calls this, and a timer each second). */
export function tick() {
  const now = Date.now() + state.skew;
  for (const node of document.querySelectorAll(".due[data-due]")) {
    const shown = due(Math.round((Date.parse(node.dataset.due) - now) / 1000));
    node.textContent = shown.text;
    node.classList.toggle("soon", shown.level === "soon");
    node.classList.toggle("late", shown.level === "late");
  }
  for (const paint of listeners) paint(now);
}
