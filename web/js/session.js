// The header's signed-in user and its "Sign out" button; no session sends the page to sign in.

import { api, loadSession } from "./api.js";

export async function mountSession(slot) {
  const who = await loadSession().catch(() => null); // a 401 has already sent the page to sign in
  if (!who) return;
  const email = document.createElement("span");
  email.className = "session__email";
  email.textContent = who.email;
  email.title = `Signed in as ${who.email} (${who.role})`;
  const out = document.createElement("button");
  out.type = "button";
  out.className = "btn btn--small btn--ghost";
  out.textContent = "Sign out";
  out.onclick = async () => {
    out.disabled = true;
    await api("POST", "/api/auth/logout");
    location.assign("/login");
  };
  slot.replaceChildren(email, out);
}
