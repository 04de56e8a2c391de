// The REST client. Failures come back as three kinds the desk treats differently:
// the network is down (show the offline banner, not a raw "Failed to fetch"), the
// session has ended (back to sign-in), or the server refused (show its message).

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class NetworkError extends Error {}

export class SessionEnded extends Error {}

/**
 * hooks.token(): the bearer token or null; hooks.sessionEnded(): a 401 on an
 * authenticated call; hooks.reachable(ok): whether the last request reached the server.
 */
export function createClient(hooks) {
  return async function api(path, { method = "GET", body, signIn = false } = {}) {
    const token = hooks.token();
    const headers = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    let response;
    let data = null;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status !== 204) data = await response.json().catch(() => null);
    } catch {
      hooks.reachable(false);
      throw new NetworkError("the desk is offline");
    }
    hooks.reachable(true);
    // A wrong password is a 401 too, but it is an answer, not a lost session.
    if (response.status === 401 && !signIn) {
      hooks.sessionEnded();
      throw new SessionEnded("your session has ended");
    }
    if (!response.ok) {
      const error = data?.error;
      throw new ApiError(
        response.status,
        error?.code ?? null,
        error?.message ?? `the request failed (${response.status})`,
      );
    }
    return data;
  };
}
