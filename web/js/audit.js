// The audit log (admins only): who did what and when, newest first, filtered by actor, action and
// time, a page at a time.

import { clear, dateTime, debounce, h } from "./dom.js";
import { pagedTable } from "./paged-table.js";
import { badge, cardHead, cutText, emptyState, iconButton, textField } from "./ui.js";

const PAGE_SIZE = 50;
// What the service records, as the action filter offers it.
const ACTIONS = [
  ["auth.signin", "signed in"],
  ["auth.signin_failed", "sign-in failed"],
  ["auth.signout", "signed out"],
  ["auth.setup", "first admin set up"],
  ["user.created", "user created"],
  ["user.changed", "user changed"],
  ["user.disabled", "user disabled"],
  ["token.created", "token created"],
  ["token.revoked", "token revoked"],
  ["products.bulk_deleted", "every product deleted"],
  ["webhook.created", "webhook created"],
  ["webhook.changed", "webhook changed"],
  ["webhook.deleted", "webhook deleted"],
  ["import.started", "import started"],
  ["import.cancelled", "import cancelled"],
];

/** A datetime-local value (the browser's time zone) as ISO 8601, or "" when empty. */
function isoOf(local) {
  return local ? new Date(local).toISOString() : "";
}

export function mountAudit(card) {
  const actor = h("input", {
    type: "search",
    name: "actor",
    placeholder: "name@example.com",
    autocomplete: "off",
    maxlength: "254",
  });
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "" }, "Any action"),
    ACTIONS.map(([value, label]) => h("option", { value }, `${value} (${label})`)),
  );
  const since = h("input", { type: "datetime-local", name: "since" });
  const until = h("input", { type: "datetime-local", name: "until" });
  actor.addEventListener(
    "input",
    debounce(() => list.load(1), 300),
  );
  for (const control of [action, since, until]) control.addEventListener("change", () => list.load(1));
  const refresh = iconButton({ icon: "refresh", label: "Refresh the audit log", onclick: () => list.load() });
  const list = pagedTable({
    path: "/api/audit",
    what: "the audit log",
    pageSize: PAGE_SIZE,
    table: {
      className: "table--compact table--stack table--audit",
      caption: "Audit log",
      columns: ["When", "Actor", "Address", "Action", "Target", "Details"],
      attrs: { "data-testid": "audit-table" },
    },
    row: (entry) => row(entry),
    params: () => ({
      actor: actor.value.trim(),
      action: action.value,
      since: isoOf(since.value),
      until: isoOf(until.value),
    }),
    empty: (query) =>
      emptyState(Object.values(query).some(Boolean) ? "Nothing matches these filters" : "Nothing recorded yet", null),
  });
  clear(
    card,
    cardHead({
      title: "Audit",
      titleId: "audit-title",
      large: true,
      sub: "Sign-ins, users, tokens, webhooks, imports and bulk deletes: who, from where and when, newest first.",
      aside: refresh,
    }),
    h(
      "form",
      {
        class: "filters filters--audit",
        role: "search",
        "aria-label": "Filter the audit log",
        onsubmit: (e) => e.preventDefault(),
      },
      textField({ label: "Actor (email)", input: actor, className: "filter" }).wrap,
      textField({ label: "Action", input: action, className: "filter" }).wrap,
      textField({ label: "From", input: since, className: "filter" }).wrap,
      textField({ label: "Until", input: until, className: "filter" }).wrap,
    ),
    list.nodes,
  );

  function row(entry) {
    const details = Object.keys(entry.details).length ? JSON.stringify(entry.details) : "";
    return h(
      "tr",
      { "data-id": entry.id },
      h("td", { "data-label": "When" }, dateTime(entry.at)),
      h(
        "td",
        { "data-label": "Actor" },
        h(
          "div",
          { class: "cell-stack" },
          entry.actor ? cutText(entry.actor) : h("span", { class: "muted" }, "nobody signed in"),
          entry.actor_token_id ? h("span", {}, badge(`token #${entry.actor_token_id}`, "info")) : null,
        ),
      ),
      h("td", { "data-label": "Address" }, entry.address ?? "–"),
      h("td", { "data-label": "Action" }, h("code", {}, entry.action)),
      h("td", { "data-label": "Target" }, entry.target ? cutText(entry.target) : "–"),
      h("td", { "data-label": "Details" }, h("span", { class: "audit-details" }, details)),
    );
  }

  list.load();
}
