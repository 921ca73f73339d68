// The sign-in and first-admin pages: post the form as JSON, then go where the user was headed.

import { parseJson, replyError } from "./api.js";

function safeNext() {
  // Only a path on this site: "//evil.example" or "https://…" would send the user away.
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

// Not api(): its writes first ask /api/auth/me for a CSRF token, which nobody signed out has.
async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw replyError(response.status, response.statusText, text);
  return parseJson(text);
}

/** Wire `form`: its named fields (plus `extra`) go to `path`; errors show in its [data-error] element. */
export function wireForm(form, path, extra = () => ({})) {
  const error = form.querySelector("[data-error]");
  const submit = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const fields = Object.fromEntries(new FormData(form));
    if (fields.confirm !== undefined) {
      if (fields.confirm !== fields.password) {
        error.textContent = "The two passwords differ.";
        error.hidden = false;
        return;
      }
      delete fields.confirm;
    }
    submit.disabled = true;
    try {
      await postJson(path, { ...fields, ...extra() });
      location.assign(safeNext());
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
}
