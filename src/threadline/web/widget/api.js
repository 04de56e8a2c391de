// Threadline's API as the panel calls it: JSON in and out, the visitor's token in the
// Authorization header (never a cookie), and which failures are worth trying again.

import { state } from "./state.js";

export const API = new URL("../api/v1/", location.href);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code;
  }
}

// Worth trying again with the same request: the network, or the server for a moment.
export const transient = (error) =>
  !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const backoff = (attempt) =>
  Math.min(15000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);

export async function api(path, { method = "GET", body, signal, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(new URL(path, API), {
    method,
    headers,
    signal,
    credentials: "omit",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.code, data?.error?.message);
  return data;
}
