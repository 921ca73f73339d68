// Users (admins only): create one with a role and an initial password, change a role, disable or
// enable, set a new password. The last enabled admin stays one: the API's 409 shows as a notice.

import { ApiError, post, put } from "./api.js";
import { clear, h, icon, timeAgo } from "./dom.js";
import { pagedTable } from "./paged-table.js";
import { signedIn } from "./session.js";
import {
  badge,
  cardHead,
  clearErrors,
  confirmDialog,
  cutText,
  formBanner,
  notice,
  openModal,
  setBusy,
  showErrors,
  textField,
  toast,
} from "./ui.js";

const PAGE_SIZE = 50;
const ROLES = ["viewer", "editor", "admin"];
const ROLE_HINTS = {
  viewer: "reads products and imports",
  editor: "also edits products and imports CSV files",
  admin: "also webhooks, users, every token, the audit log",
};
const PASSWORD_MIN = 10;

function roleSelect(name, value) {
  return h(
    "select",
    { name },
    ROLES.map((role) => h("option", { value: role, selected: role === value }, `${role} — ${ROLE_HINTS[role]}`)),
  );
}

function passwordInput(name) {
  return h("input", { type: "password", name, autocomplete: "new-password", minlength: String(PASSWORD_MIN) });
}

export function mountUsers(card) {
  const me = signedIn();
  const message = h("div", { class: "users__message", "aria-live": "polite" });
  const create = h(
    "button",
    { type: "button", class: "btn btn--primary", onclick: () => createUser() },
    icon("plus"),
    "New user",
  );
  const list = pagedTable({
    path: "/api/users",
    what: "the users",
    pageSize: PAGE_SIZE,
    table: {
      className: "table--compact table--stack table--users",
      caption: "Users",
      columns: ["Email", "Role", "Status", "Created", { label: "Actions", hidden: true }],
      attrs: { "data-testid": "users-table" },
    },
    row: (user) => row(user),
  });
  clear(
    card,
    cardHead({
      title: "Users",
      titleId: "users-title",
      large: true,
      sub: "Who may sign in, and with which role. Disabling a user or setting a new password ends their sessions and tokens.",
      aside: h("div", { class: "card__actions" }, create),
    }),
    message,
    list.nodes,
  );

  /** PUT a change; a refusal (the last admin's 409 above all) shows in the card's notice. */
  async function change(user, fields, done) {
    clear(message);
    try {
      const saved = await put(`/api/users/${user.id}`, fields);
      toast(done(saved));
      // The signed-in admin's own role or status changed: what this page offers changes with it.
      if (saved.id === me.id && (saved.role !== me.role || saved.disabled)) location.reload();
      return saved;
    } catch (error) {
      clear(message, notice("danger", h("strong", {}, `${user.email} was not changed: `), error.message));
      return null;
    } finally {
      list.load();
    }
  }

  function row(user) {
    const role = h("select", {
      name: "role",
      "aria-label": `Role of ${user.email}`,
      disabled: user.disabled,
      onchange: () => change(user, { role: role.value }, (saved) => `${saved.email} is now ${saved.role}.`),
    });
    role.append(...ROLES.map((name) => h("option", { value: name, selected: name === user.role }, name)));
    const toggle = h(
      "button",
      {
        type: "button",
        class: user.disabled ? "btn btn--small" : "btn btn--small btn--danger-ghost",
        onclick: () => (user.disabled ? enable(user) : disable(user)),
      },
      user.disabled ? "Enable" : "Disable",
    );
    const reset = h(
      "button",
      { type: "button", class: "btn btn--small", onclick: () => resetPassword(user) },
      "Set password",
    );
    return h(
      "tr",
      { "data-id": user.id },
      h(
        "td",
        { "data-label": "Email" },
        h(
          "div",
          { class: "cell-stack" },
          cutText(user.email),
          user.id === me.id ? h("span", { class: "cell-sub" }, "you") : null,
        ),
      ),
      h("td", { "data-label": "Role" }, role),
      h("td", { "data-label": "Status" }, user.disabled ? badge("Disabled", "neutral") : badge("Active", "success")),
      h("td", { "data-label": "Created" }, timeAgo(user.created_at)),
      h("td", { class: "col-actions", "data-label": "Actions" }, h("div", { class: "row-actions" }, reset, toggle)),
    );
  }

  async function disable(user) {
    const ok = await confirmDialog({
      title: "Disable user",
      message: `Disable ${user.email}?`,
      detail: "They are signed out everywhere and their API tokens are revoked. You can enable them again.",
      confirmLabel: "Disable user",
    });
    if (ok) change(user, { disabled: true }, (saved) => `Disabled ${saved.email}.`);
  }

  function enable(user) {
    change(user, { disabled: false }, (saved) => `Enabled ${saved.email}.`);
  }

  function createUser() {
    const email = h("input", { type: "email", name: "email", autocomplete: "off", autofocus: true });
    const role = roleSelect("role", "viewer");
    const password = passwordInput("password");
    const save = h("button", { type: "submit", class: "btn btn--primary" }, "Create user");
    const modal = openModal({
      title: "New user",
      description: "Tell them their initial password; they can sign in at once.",
      content: [
        formBanner(),
        textField({ label: "Email", input: email, required: true }).wrap,
        textField({ label: "Role", input: role, required: true }).wrap,
        textField({
          label: "Initial password",
          input: password,
          required: true,
          hint: `At least ${PASSWORD_MIN} characters.`,
        }).wrap,
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), save],
      onSubmit: (form) =>
        submit(form, save, async () => {
          const user = await post("/api/users", { email: email.value, role: role.value, password: password.value });
          modal.close();
          toast(`Created ${user.email} (${user.role}).`);
          list.load();
        }),
    });
  }

  function resetPassword(user) {
    const password = passwordInput("password");
    const again = passwordInput("confirm");
    const save = h("button", { type: "submit", class: "btn btn--primary" }, "Set password");
    const modal = openModal({
      title: `New password for ${user.email}`,
      description: "This signs them out everywhere and revokes their API tokens.",
      content: [
        formBanner(),
        textField({
          label: "New password",
          input: password,
          required: true,
          hint: `At least ${PASSWORD_MIN} characters.`,
        }).wrap,
        textField({ label: "The same again", input: again, required: true }).wrap,
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), save],
      onSubmit: (form) =>
        submit(form, save, async () => {
          if (password.value !== again.value)
            throw new ApiError(422, "", { details: [{ field: "confirm", message: "The two passwords differ." }] });
          await put(`/api/users/${user.id}`, { password: password.value });
          modal.close();
          toast(`New password set for ${user.email}.`);
          if (user.id === me.id) location.reload();
        }),
    });
  }

  /** Run a form's request with its button busy; the API's errors show on the form's fields. */
  async function submit(form, button, request) {
    clearErrors(form);
    setBusy(button, true);
    try {
      await request();
    } catch (error) {
      setBusy(button, false);
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
    }
  }

  list.load();
}
