// The audit log (admins only): who did what and when, newest first, filtered by actor, action and
// time, a page at a time.

import { get } from "./api.js";
import { clear, dateTime, debounce, h } from "./dom.js";
import { badge, cardHead, dataTable, emptyState, iconButton, loadError, pager, textField } from "./ui.js";

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
  let page = 1;
  let loading = null;
  const actor = h("input", { type: "search", name: "actor", placeholder: "name@example.com", autocomplete: "off" });
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
    debounce(() => load(1), 300),
  );
  for (const control of [action, since, until]) control.addEventListener("change", () => load(1));
  const refresh = iconButton({ icon: "refresh", label: "Refresh the audit log", onclick: () => load() });
  const { wrap, table, tbody, state } = dataTable({
    className: "table--compact table--stack table--audit",
    caption: "Audit log",
    columns: ["When", "Actor", "Address", "Action", "Target", "Details"],
    attrs: { "data-testid": "audit-table" },
  });
  const pages = pager({ label: "the audit log", onPage: (n) => load(n) });
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
    wrap,
    state,
    pages.root,
  );

  async function load(n = page) {
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    table.setAttribute("aria-busy", "true");
    const params = {
      page: n,
      page_size: PAGE_SIZE,
      actor: actor.value.trim(),
      action: action.value,
      since: isoOf(since.value),
      until: isoOf(until.value),
    };
    try {
      const reply = await get("/api/audit", params, controller.signal);
      page = reply.page;
      const filtered = Boolean(params.actor || params.action || params.since || params.until);
      clear(
        tbody,
        reply.items.map((entry) => row(entry)),
      );
      clear(
        state,
        reply.items.length
          ? null
          : emptyState(filtered ? "Nothing matches these filters" : "Nothing recorded yet", null),
      );
      pages.show(reply);
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(tbody);
      clear(state, loadError("the audit log", error));
    } finally {
      if (loading === controller) {
        loading = null;
        table.removeAttribute("aria-busy");
      }
    }
  }

  function row(entry) {
    const details = Object.keys(entry.details).length ? JSON.stringify(entry.details) : "";
    return h(
      "tr",
      { "data-id": entry.id },
      h("td", { "data-label": "When" }, dateTime(entry.at)),
      h(
        "td",
        { "data-label": "Actor" },
        entry.actor ?? h("span", { class: "muted" }, "nobody signed in"),
        entry.actor_token_id ? [" ", badge(`token #${entry.actor_token_id}`, "info")] : null,
      ),
      h("td", { "data-label": "Address" }, entry.address ?? "–"),
      h("td", { "data-label": "Action" }, h("code", {}, entry.action)),
      h("td", { "data-label": "Target" }, entry.target ?? "–"),
      h("td", { "data-label": "Details" }, h("span", { class: "audit-details" }, details)),
    );
  }

  load();
}
