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
    for (const detail of this.details || []) {
      const field = String(detail.field || "").split(".").filter((part) => !/^\d+$/.test(part)).pop();
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

/** Off to the sign-in page, which comes back here (path and #section) once signed in. */
export function signIn() {
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
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401) signIn();
  if (path === "/api/auth/me" && response.ok) csrfToken = data.csrf_token;
  if (!response.ok) {
    const error = data && data.error;
    const message = (error && error.message) || `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(response.status, message, {
      code: error && error.code,
      details: (error && error.details) || [],
      body: data,
    });
  }
  return data;
}

export const get = (path, params, signal) => api("GET", path, { params, signal });
export const post = (path, body, params) => api("POST", path, { body, params });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path, params) => api("DELETE", path, { params });
