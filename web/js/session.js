// The signed-in caller: the header's user and "Sign out", what the caller may do (`can`), and the
// page's role-bound parts (`[data-needs]`, hidden until allowed). No session sends the page to sign in.

import { api, loadSession } from "./api.js";

let caller = null;
let scopes = new Set();

/** The signed-in caller as GET /api/auth/me answered it (id, email, role, scopes), once startSession resolved. */
export function signedIn() {
  return caller;
}

/** Whether the signed-in caller holds `scope` (as GET /api/auth/me lists it); false before startSession. */
export function can(scope) {
  return scopes.has(scope);
}

/**
 * Load the caller once; the sections mount after it, so each can ask `can()` while it builds.
 * Resolves to the caller, or null when the page is already on its way to sign in.
 */
export async function startSession() {
  const who = await loadSession().catch(() => null); // a 401 has already sent the page to sign in
  if (!who) return null;
  caller = who;
  scopes = new Set(who.scopes);
  return who;
}

/** Show each `[data-needs=scope]` element the caller may use and remove the rest (hidden until then). */
export function revealAllowed(root) {
  for (const el of root.querySelectorAll("[data-needs]")) {
    if (can(el.dataset.needs)) el.hidden = false;
    else el.remove();
  }
}

export function mountSession(slot, who) {
  const email = document.createElement("span");
  email.className = "session__email";
  email.textContent = who.email;
  email.title = `Signed in as ${who.email} (${who.role})`;
  const role = document.createElement("span");
  role.className = "badge badge--neutral session__role";
  role.textContent = who.role;
  const out = document.createElement("button");
  out.type = "button";
  out.className = "btn btn--small btn--ghost";
  out.textContent = "Sign out";
  out.onclick = async () => {
    out.disabled = true;
    await api("POST", "/api/auth/logout");
    location.assign("/login");
  };
  slot.replaceChildren(email, role, out);
}
