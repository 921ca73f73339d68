// The one way the dashboard talks to the API: JSON in, JSON out, errors as ApiError.

export class ApiError extends Error {
  /** status 0 means the server could not be reached. */
  constructor(status, message, { code = "error", details = [], body = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.body = body;
  }

  /** Field errors keyed by the field's last name ("body.sku" and "sku" both give "sku"). */
  fieldErrors() {
    const errors = {};
    for (const detail of this.details) {
      const field = detail.field
        .split(".")
        .filter((part) => !/^\d+$/.test(part))
        .pop();
      if (field && !(field in errors)) errors[field] = detail.message;
    }
    return errors;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// The signed-in session (GET /api/auth/me), fetched once; its csrf_token goes with every write.
let session = null;

export function loadSession() {
  session ??= api("GET", "/api/auth/me");
  return session;
}

/** The session's CSRF token once loadSession() has answered (for requests not made through api()). */
export let csrfToken = "";

let signingIn = false;

/** Off to the sign-in page, which comes back here (path and #section) once signed in. Several
 * requests refused at once (a write, a poll, the stream) go there once, not in a race. */
export function signIn() {
  if (signingIn) return;
  signingIn = true;
  const back = location.pathname + location.search + location.hash;
  location.assign(`/login?next=${encodeURIComponent(back)}`);
}

export async function api(method, path, { body, params, signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (method !== "GET") init.headers["X-CSRF-Token"] = (await loadSession()).csrf_token;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path + query(params), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "Could not reach the server. Check your connection and try again.");
  }
  const text = await response.text();
  if (response.status === 401) signIn();
  if (!response.ok) throw replyError(response.status, response.statusText, text);
  const data = parseJson(text);
  if (path === "/api/auth/me") csrfToken = data.csrf_token;
  return data;
}

/** JSON text as a value; null for an empty or malformed body. */
export function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A failed reply as an ApiError: the API's `{"error": {...}}`, or the bare status when a proxy answered. */
export function replyError(status, statusText, text) {
  const data = parseJson(text);
  const error = data?.error;
  return new ApiError(status, error?.message || `The server answered ${status} ${statusText}.`, {
    code: error?.code,
    details: error?.details,
    body: data,
  });
}

export const get = (path, params, signal) => api("GET", path, { params, signal });
export const post = (path, body, params) => api("POST", path, { body, params });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path, params) => api("DELETE", path, { params });
