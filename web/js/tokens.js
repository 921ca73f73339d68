// API tokens: create one (scopes limited to what the caller's role allows, optional expiry), see
// it once with a copy button, list them with their last use and expiry, revoke with confirmation.

import { ApiError, del, post } from "./api.js";
import { clear, dateTime, h, icon, timeAgo } from "./dom.js";
import { pagedTable } from "./paged-table.js";
import { can } from "./session.js";
import {
  badge,
  cardHead,
  checkOption,
  clearErrors,
  confirmDialog,
  cutText,
  emptyState,
  formBanner,
  iconButton,
  openModal,
  setBusy,
  showErrors,
  textField,
  toast,
  toastError,
} from "./ui.js";

const PAGE_SIZE = 25;
// Every scope a token can carry, in the order the form lists them; it offers only those the caller holds.
const SCOPE_HINTS = {
  "products:read": "List and read products.",
  "products:write": "Create, edit and delete single products.",
  "imports:read": "Imports, their progress, stream and rejects.",
  "imports:write": "Upload CSV files and cancel imports.",
  "webhooks:manage": "Webhooks and their deliveries.",
  admin: "Delete every product; users, every token, the audit log.",
};

/** The end of `day` (a yyyy-mm-dd from a date input) in the browser's time zone, as ISO 8601. */
function endOfDay(day) {
  return new Date(`${day}T23:59:59.999`).toISOString();
}

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function mountTokens(card) {
  const everyone = can("admin"); // an admin's list holds every user's tokens
  const create = h(
    "button",
    { type: "button", class: "btn btn--primary", onclick: () => createToken() },
    icon("plus"),
    "New token",
  );
  const list = pagedTable({
    path: "/api/tokens",
    what: "the tokens",
    pageSize: PAGE_SIZE,
    table: {
      className: "table--compact table--stack table--tokens",
      caption: "API tokens",
      columns: [
        "Name",
        "Scopes",
        ...(everyone ? ["Owner"] : []),
        "Created",
        "Last used",
        "Expires",
        { label: "Actions", hidden: true },
      ],
      attrs: { "data-testid": "tokens-table" },
    },
    row: (token) => row(token),
    empty: () => emptyState("No API tokens", "Create one to call the API from a program."),
  });
  clear(
    card,
    cardHead({
      title: "API tokens",
      titleId: "tokens-title",
      large: true,
      sub: `For curl and programs: send Authorization: Bearer fk_…. ${everyone ? "Every user's tokens." : "Your tokens."}`,
      aside: h("div", { class: "card__actions" }, create),
    }),
    list.nodes,
  );

  function row(token) {
    const expired = token.expires_at && new Date(token.expires_at) <= new Date();
    return h(
      "tr",
      { "data-id": token.id },
      h(
        "td",
        { "data-label": "Name" },
        h(
          "div",
          { class: "cell-stack" },
          cutText(token.name),
          h("code", { class: "cell-sub", title: "The token's first characters" }, `${token.prefix}…`),
        ),
      ),
      h(
        "td",
        { "data-label": "Scopes" },
        token.scopes.length
          ? h(
              "span",
              {},
              token.scopes.map((scope) => h("code", { class: "scope" }, scope)),
            )
          : "–",
      ),
      everyone ? h("td", { "data-label": "Owner" }, cutText(token.owner)) : null,
      h("td", { "data-label": "Created" }, timeAgo(token.created_at)),
      h("td", { "data-label": "Last used" }, token.last_used_at ? timeAgo(token.last_used_at) : "never"),
      h(
        "td",
        { "data-label": "Expires" },
        token.expires_at ? (expired ? badge("expired", "warning") : dateTime(token.expires_at)) : "never",
      ),
      h(
        "td",
        { class: "col-actions", "data-label": "Actions" },
        iconButton({
          icon: "trash",
          label: `Revoke ${token.name}`,
          title: "Revoke",
          danger: true,
          onclick: () => revoke(token),
        }),
      ),
    );
  }

  function createToken() {
    const name = h("input", { type: "text", name: "name", maxlength: "100", autocomplete: "off", autofocus: true });
    const expires = h("input", { type: "date", name: "expires_at", min: today() });
    const scopes = Object.keys(SCOPE_HINTS).filter((scope) => can(scope));
    const checks = h(
      "div",
      { class: "checks" },
      scopes.map((scope) =>
        checkOption({
          name: "scope",
          value: scope,
          label: h("code", {}, scope),
          hint: SCOPE_HINTS[scope],
          checked: true,
        }),
      ),
    );
    const save = h("button", { type: "submit", class: "btn btn--primary" }, "Create token");
    const modal = openModal({
      title: "New API token",
      description: "The token can do only what you tick here, and never more than your role allows.",
      content: [
        formBanner(),
        textField({ label: "Name", input: name, required: true, hint: "What uses it, such as nightly-sync." }).wrap,
        h("fieldset", { class: "field fieldset" }, h("legend", { class: "field__label" }, "Scopes"), checks),
        textField({
          label: "Expires",
          input: expires,
          hint: "Optional: it stops working at the end of that day. Empty: it never expires.",
        }).wrap,
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), save],
      onSubmit: async (form) => {
        clearErrors(form);
        const chosen = [...checks.querySelectorAll("input:checked")].map((input) => input.value);
        if (!chosen.length) {
          showErrors(form, new ApiError(422, "Tick at least one scope: a token without any can do nothing."));
          return;
        }
        if (expires.value && expires.value < today()) {
          showErrors(
            form,
            new ApiError(422, "", { details: [{ field: "expires_at", message: "Pick today or a later day." }] }),
          );
          return;
        }
        const payload = {
          name: name.value,
          scopes: chosen,
          expires_at: expires.value ? endOfDay(expires.value) : null,
        };
        setBusy(save, true, "Creating…");
        try {
          const created = await post("/api/tokens", payload);
          modal.close();
          showCreated(created);
          list.load(1);
        } catch (error) {
          setBusy(save, false, "Creating…");
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error);
        }
      },
    });
  }

  function showCreated(created) {
    const secret = h("input", {
      type: "text",
      name: "token",
      value: created.token,
      readonly: true,
      spellcheck: "false",
      class: "token-secret",
      "aria-label": `The token ${created.name}`,
    });
    const copy = h(
      "button",
      {
        type: "button",
        class: "btn btn--primary",
        onclick: async () => {
          secret.select();
          try {
            await navigator.clipboard.writeText(created.token);
            toast("Token copied.");
          } catch {
            toast("Could not copy: the token is selected, press Ctrl+C (or ⌘C).", "info");
          }
        },
      },
      "Copy",
    );
    const modal = openModal({
      title: `Token ${created.name} created`,
      content: [
        h("p", { class: "notice notice--warning" }, "Copy it now: it is shown this once and never again."),
        h("div", { class: "token-copy" }, secret, copy),
        h("p", { class: "muted" }, "Send it as ", h("code", {}, "Authorization: Bearer …"), "."),
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Done")],
    });
    copy.focus();
  }

  async function revoke(token) {
    const ok = await confirmDialog({
      title: "Revoke token",
      message: `Revoke ${token.name} (${token.prefix}…)${everyone ? ` of ${token.owner}` : ""}?`,
      detail: "Anything using it is refused from the next request on. This cannot be undone.",
      confirmLabel: "Revoke token",
    });
    if (!ok) return;
    try {
      await del(`/api/tokens/${token.id}`);
      toast(`Revoked ${token.name}.`);
    } catch (error) {
      toastError(error, `Could not revoke ${token.name}`);
    }
    list.load();
  }

  list.load();
}
