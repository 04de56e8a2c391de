// How failures reach the agent: in words where they are looking, never as a raw
// "Failed to fetch" (the offline banner says that) and never as an unhandled rejection.

import { ApiError, NetworkError, SessionEnded } from "./api.js";
import { $ } from "./dom.js";
import { desk } from "./state.js";

/** Say what went wrong in `where`; the network and a lost session say it elsewhere. */
export function report(error, where = $("action-error")) {
  if (error instanceof NetworkError || error instanceof SessionEnded) return;
  if (error instanceof ApiError) {
    where.textContent = error.message;
    return;
  }
  console.error(error);
  where.textContent = "Something went wrong; try again.";
}

/** An event handler whose failures are reported; `where()` picks the place. */
export const guard =
  (handler, where) =>
  (...args) => {
    Promise.resolve()
      .then(() => handler(...args))
      .catch((error) => report(error, where?.()));
  };

export function clearErrors() {
  for (const id of ["action-error", "floor-error", "desk-error"]) $(id).textContent = "";
}

/** Run an action, then repaint from the server; true if it worked. */
export async function act(action, where = $("action-error")) {
  try {
    await action();
  } catch (error) {
    report(error, where);
    return false;
  }
  clearErrors(); // what failed before is stale now
  await desk.refreshNow();
  return true;
}
