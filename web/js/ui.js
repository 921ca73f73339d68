// Shared pieces of the interface: toasts, modal dialogs (focus kept inside, returned on close),
// confirmations, form fields that can show the API's errors next to the right control, notices,
// and the tables with their empty and error states.

import { clear, h, icon, num, uniqueId } from "./dom.js";

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

/** Every control, disabled or not: a row's controls keep their places when one is disabled. */
const CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])";

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
}

// Toasts ------------------------------------------------------------------------------------

/** More than this many at once and the oldest goes: a pile of toasts hides the page it reports on. */
const MAX_TOASTS = 3;

export function toast(message, kind = "success") {
  const region = document.getElementById("toasts");
  const item = h(
    "div",
    { class: `toast toast--${kind}`, role: kind === "error" ? "alert" : null },
    icon(kind === "error" ? "alert" : kind === "info" ? "info" : "check"),
    h("p", { class: "toast__text" }, message),
    h(
      "button",
      { type: "button", class: "icon-btn toast__close", "aria-label": "Dismiss", onclick: () => dismiss() },
      icon("x", { size: 16 }),
    ),
  );
  const timer = setTimeout(() => dismiss(), kind === "error" ? 9000 : 5000);
  function dismiss() {
    clearTimeout(timer);
    item.classList.add("toast--leaving");
    setTimeout(() => item.remove(), 180);
  }
  item.dismiss = dismiss;
  region.append(item);
  const showing = [...region.children].filter((child) => !child.classList.contains("toast--leaving"));
  for (const old of showing.slice(0, -MAX_TOASTS)) old.dismiss();
  return dismiss;
}

export function toastError(error, prefix = "") {
  if (error && error.name === "AbortError") return;
  toast(prefix ? `${prefix}: ${error.message}` : error.message, "error");
}

// Modals ------------------------------------------------------------------------------------

/**
 * Open a modal dialog. With `onSubmit`, the body and footer sit in a <form>; the handler gets
 * the form. Focus goes to the first control (or `[autofocus]`), Tab cycles inside, Escape and
 * the close button close it, and focus returns to what had it before.
 */
export function openModal({
  title,
  description = null,
  content,
  footer = [],
  onSubmit = null,
  size = "md",
  onClose = null,
}) {
  const previous = document.activeElement;
  const titleId = uniqueId("modal-title");
  const descId = description ? uniqueId("modal-desc") : null;
  const closeButton = h(
    "button",
    { type: "button", class: "icon-btn", "aria-label": "Close dialog", onclick: () => close() },
    icon("x"),
  );
  const inner = onSubmit ? h("form", { class: "modal__form", novalidate: true }) : h("div", { class: "modal__form" });
  inner.append(
    h(
      "div",
      { class: "modal__body" },
      description ? h("p", { id: descId, class: "modal__desc" }, description) : null,
      content,
    ),
    footer.length ? h("div", { class: "modal__footer" }, footer) : null,
  );
  const dialog = h(
    "dialog",
    { class: `modal modal--${size}`, "aria-labelledby": titleId, "aria-describedby": descId, "aria-modal": "true" },
    h("div", { class: "modal__head" }, h("h2", { id: titleId, class: "modal__title" }, title), closeButton),
    inner,
  );
  let closed = false;
  function close(result) {
    if (closed) return;
    closed = true;
    dialog.close();
    dialog.remove();
    if (previous?.isConnected && typeof previous.focus === "function") previous.focus();
    if (onClose) onClose(result);
  }
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
  if (onSubmit) {
    inner.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit(inner);
    });
  }
  document.body.append(dialog);
  dialog.showModal();
  const target = dialog.querySelector("[autofocus]") || focusables(inner)[0] || closeButton;
  target.focus();
  return { dialog, form: inner, close };
}

/** Ask before a destructive step. With `typed`, the button waits until that text is typed. */
export function confirmDialog({ title, message, detail = null, confirmLabel = "Delete", danger = true, typed = null }) {
  return new Promise((resolve) => {
    let answer = false;
    const confirm = h(
      "button",
      { type: "submit", class: danger ? "btn btn--danger" : "btn btn--primary" },
      confirmLabel,
    );
    const content = [h("p", { class: "confirm__message" }, message)];
    if (detail) content.push(h("p", { class: "muted" }, detail));
    if (typed) {
      const input = h("input", {
        type: "text",
        name: "confirmation",
        autocomplete: "off",
        spellcheck: "false",
        autofocus: true,
        oninput: () => {
          confirm.disabled = input.value.trim() !== typed;
        },
      });
      confirm.disabled = true;
      content.push(textField({ label: `Type ${typed} to confirm`, input }).wrap);
    }
    const modal = openModal({
      title,
      size: "sm",
      content,
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), confirm],
      onSubmit: () => {
        if (confirm.disabled) return;
        answer = true;
        modal.close();
      },
      onClose: () => resolve(answer),
    });
    if (!typed) confirm.focus();
  });
}

// Form fields -------------------------------------------------------------------------------

/** A labelled control with a hint and an error line wired through aria-describedby. */
export function textField({ label, input, hint = null, required = false, className = "" }) {
  const id = input.id || uniqueId(`f-${input.name || "field"}`);
  input.id = id;
  if (required) input.required = true;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  input.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  const wrap = h(
    "div",
    { class: `field ${className}`.trim() },
    h(
      "label",
      { for: id, class: "field__label" },
      label,
      required ? h("span", { class: "field__req", "aria-hidden": "true" }, " *") : null,
    ),
    input,
    hint ? h("p", { id: hintId, class: "field__hint" }, hint) : null,
    h("p", { id: errorId, class: "field__error", hidden: true }),
  );
  return { wrap, input };
}

export function switchControl({ label, name, checked = false, onchange = null, hint = null }) {
  const input = h("input", { type: "checkbox", role: "switch", name, checked, class: "switch__input", onchange });
  const wrap = h(
    "label",
    { class: "switch" },
    input,
    h("span", { class: "switch__track", "aria-hidden": "true" }, h("span", { class: "switch__thumb" })),
    h("span", { class: "switch__label" }, label, hint ? h("span", { class: "field__hint switch__hint" }, hint) : null),
  );
  return { wrap, input };
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid=true]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field__error")) {
    el.hidden = true;
    el.textContent = "";
  }
  const banner = form.querySelector(".form-error");
  if (banner) banner.hidden = true;
}

/** What the form calls a control: its label's text, or its fieldset's legend (without the " *"). */
function labelOf(control) {
  const label = control.labels?.[0] ?? (control.tagName === "FIELDSET" ? control.querySelector("legend") : null);
  return label ? label.textContent.replace(/\s*\*\s*$/, "").trim() : null;
}

/** "the receiver answered 503" -> "The receiver answered 503." */
export function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) || !capital ? capital : `${capital}.`;
}

/**
 * The API's message about `field` as a sentence that names the field as the form does:
 * "retry_count must be at most 20" under "Retry count" reads "Retry count must be at most 20.";
 * "must be a whole number" gets the label in front.
 */
export function fieldSentence(message, field, label) {
  let text = message.trim();
  const named = new RegExp(`^${field}\\b`, "i"); // the API's field names are plain words
  if (label && named.test(text)) text = text.replace(named, label);
  else if (label && /^(must|cannot|is|has|contains|should)\b/.test(text)) text = `${label} ${text}`;
  return sentence(text);
}

/**
 * Show an ApiError on the form: each detail on its field (as a sentence naming the field by its
 * label), the rest in the banner at the top. Returns true when at least one field got its message
 * (focus moves to the first of them).
 */
export function showErrors(form, error) {
  clearErrors(form);
  const byField = error.fieldErrors ? error.fieldErrors() : {};
  let first = null;
  for (const [name, message] of Object.entries(byField)) {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const line = control && document.getElementById(`${control.id}-error`);
    if (!line) continue;
    control.setAttribute("aria-invalid", "true");
    line.textContent = fieldSentence(message, name, labelOf(control));
    line.hidden = false;
    first = first || control;
  }
  const banner = form.querySelector(".form-error");
  if (banner && !first) {
    banner.textContent = error.message;
    banner.hidden = false;
  }
  if (first) first.focus();
  return first !== null;
}

export function formBanner() {
  return h("p", { class: "form-error", role: "alert", hidden: true });
}

export function setBusy(button, busy, busyText = null) {
  if (busy) {
    button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    if (busyText) button.textContent = busyText;
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (busyText && button.dataset.label) button.textContent = button.dataset.label;
  }
}

/** A button that shows only an icon; `label` is what screen readers say, `title` the tooltip. */
export function iconButton({ icon: name, label, title = null, danger = false, onclick }) {
  return h(
    "button",
    { type: "button", class: danger ? "icon-btn icon-btn--danger" : "icon-btn", "aria-label": label, title, onclick },
    icon(name),
  );
}

/**
 * A card's heading: the title (`large` for a view's, its page's h1), the line under it (text, or an
 * element to update later) and `aside` on the right (buttons, usually in a `.card__actions`).
 */
export function cardHead({ title, titleId = null, large = false, sub, aside = null }) {
  return h(
    "div",
    { class: "card__head" },
    h(
      "div",
      {},
      h(large ? "h1" : "h2", { id: titleId, class: large ? "card__title card__title--lg" : "card__title" }, title),
      sub instanceof Node ? sub : h("p", { class: "card__sub" }, sub),
    ),
    aside,
  );
}

export function badge(text, tone = "neutral") {
  return h("span", { class: `badge badge--${tone}` }, text);
}

export function emptyState(title, text, action = null) {
  return h(
    "div",
    { class: "empty" },
    icon("box", { size: 28 }),
    h("p", { class: "empty__title" }, title),
    text ? h("p", { class: "muted" }, text) : null,
    action,
  );
}

// Notices and tables --------------------------------------------------------------------------

/** A message block in the flow of the page; a "danger" one is announced at once (role alert). */
export function notice(tone, ...children) {
  return h("div", { class: `notice notice--${tone}`, role: tone === "danger" ? "alert" : null }, ...children);
}

/** What a list shows until its first answer arrives. */
export function loadingState(what) {
  return h(
    "p",
    { class: "loading", role: "status" },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    `Loading ${what}…`,
  );
}

/** What a list shows when it could not be loaded. */
export function loadError(what, error) {
  return notice("danger", `Could not load ${what}: ${error.message}`);
}

/**
 * A column heading: a label, or `{ label, className, hidden }` where `hidden` keeps the label for
 * screen readers only (an actions column).
 */
export function headerCell(column) {
  const { label, className = null, hidden = false } = typeof column === "string" ? { label: column } : column;
  return h("th", { scope: "col", class: className }, hidden ? h("span", { class: "visually-hidden" }, label) : label);
}

/**
 * Marks each cell of a row whose value is cut off (`.truncate`, `.clamp` with the whole value in
 * its title) as the keyboard enters the row, so style.css can show the value whole.
 */
function markCutValues(event) {
  const row = event.target.closest?.("tbody tr");
  if (!row) return;
  for (const value of row.querySelectorAll(".truncate[title], .clamp[title]")) {
    const cut = value.scrollWidth > value.clientWidth || value.scrollHeight > value.clientHeight + 1;
    const cell = value.closest("td");
    cell.classList.toggle("is-cut", cut);
    cell.dataset.full = value.title;
  }
}

/**
 * A value that may be long (an email, a name): one line in its cell, cut with an ellipsis, whole in
 * its title (hover) and, while the keyboard is in the row, in the box under the cell.
 */
export function cutText(text) {
  return h("span", { class: "truncate cell-long", title: text }, text);
}

/**
 * A table in its scrolling wrapper, captioned for screen readers. Fill `tbody` (and `thead`, when
 * no `columns` are given); show its empty or error state in `state`, the block under the table,
 * which says "Loading `loading`…" until then.
 */
export function dataTable({ className, caption, columns = null, rows = [], attrs = {}, loading = null }) {
  const thead = h("thead", {}, columns ? h("tr", {}, columns.map(headerCell)) : null);
  const tbody = h("tbody", { onfocusin: markCutValues }, rows);
  const table = h(
    "table",
    { class: `table ${className}`, ...attrs },
    h("caption", { class: "visually-hidden" }, caption),
    thead,
    tbody,
  );
  const state = h("div", { class: "table-state" }, loading ? loadingState(loading) : null);
  return { wrap: h("div", { class: "table-wrap" }, table), table, thead, tbody, state };
}

/**
 * Redraw a table's rows without dropping keyboard focus: a control that had it in a row gets it
 * back in the redrawn row (matched by `data-id`), or in the row that took the place of a row that
 * went, or, with no rows left, the card's heading. Focus elsewhere is left alone.
 */
export function replaceRows(tbody, rows) {
  const active = document.activeElement;
  const row = active && tbody.contains(active) ? active.closest("tr") : null;
  const spot = row && {
    id: row.dataset.id,
    index: [...tbody.rows].indexOf(row),
    control: [...row.querySelectorAll(CONTROLS)].indexOf(active),
  };
  clear(tbody, rows);
  if (!spot) return;
  const again = tbody.querySelector(`tr[data-id="${CSS.escape(spot.id ?? "")}"]`);
  const target = again ?? tbody.rows[Math.min(spot.index, tbody.rows.length - 1)];
  const same = target?.querySelectorAll(CONTROLS)[spot.control];
  const control = same?.matches(FOCUSABLE) ? same : target?.querySelector(FOCUSABLE);
  const heading = tbody.closest(".card")?.querySelector("h1, h2");
  const next = control ?? heading;
  if (!next) return;
  if (next === heading) heading.tabIndex = -1;
  next.focus({ preventScroll: true });
}

/** "1,234", "about 1,234" or "more than 1,000", as a list reply's total_kind says (exact without one). */
export function totalText(reply) {
  const prefix = { exact: "", about: "about ", more_than: "more than " }[reply.total_kind] ?? "";
  return `${prefix}${num(reply.total)}`;
}

/**
 * The one pager under every paged table: first, previous, next and last page, "Go to page" while
 * the total is exact, and "Rows per page" when `sizes` are given (`onSize(n)` gets the choice).
 *
 * `show(reply, asked)` takes a list reply (`page`, `page_size`, `total`, `items`, and where the list
 * has them `total_kind`, `next_cursor`, `prev_cursor`); `asked` says what was asked for when the
 * reply cannot (`{ page }` known from before a cursor, `{ last: true }`). A list with cursors pages
 * by number while its count is exact and by cursor past it, so no row depends on an estimate.
 * `onPage(target)` is called with `{ page }`, `{ after, page }`, `{ before, page }` or `{ last: true }`.
 */
export function pager({ label, id = uniqueId("pager"), sizes = null, onSize = null, onPage }) {
  let reply = null;
  let asked = {};
  const range = h("span", { class: "pager__range muted" });
  const pageLabel = h("span", { class: "pager__label", id: `${id}-page`, "aria-live": "polite" });
  const nav = (text, iconName, onclick) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn--small",
        "aria-label": `${text} page of ${label}`,
        "data-nav": text.toLowerCase(),
        onclick,
      },
      iconName === "right" ? null : icon(iconName, { size: 16 }),
      h("span", { class: "hide-sm" }, text),
      iconName === "right" ? icon(iconName, { size: 16 }) : null,
    );
  const first = nav("First", "left", () => onPage({ page: 1 }));
  const prev = nav("Previous", "left", () => step(-1));
  const next = nav("Next", "right", () => step(1));
  const last = nav("Last", "right", () => onPage(exact() ? { page: pageCount() } : { last: true }));
  const jumpInput = h("input", { type: "number", min: "1", id: `${id}-jump`, name: "page", class: "pager__jump" });
  const jump = h(
    "form",
    {
      class: "pager__jumpform",
      onsubmit: (event) => {
        event.preventDefault();
        const page = Number.parseInt(jumpInput.value, 10);
        if (page >= 1 && page <= Number(jumpInput.max)) onPage({ page });
      },
    },
    h("label", { for: `${id}-jump`, class: "pager__size" }, "Go to page", jumpInput),
  );
  const sizeSelect =
    sizes &&
    h(
      "select",
      { id: `${id}-size`, name: "page_size", onchange: () => onSize(Number(sizeSelect.value)) },
      sizes.map((size) => h("option", { value: String(size) }, String(size))),
    );
  const root = h(
    "div",
    { class: "pager" },
    range,
    h(
      "div",
      { class: "pager__controls" },
      sizeSelect && h("label", { for: `${id}-size`, class: "pager__size" }, "Rows per page", sizeSelect),
      h("div", { class: "pager__nav" }, first, prev, pageLabel, next, last),
      jump,
    ),
  );

  const exact = () => (reply.total_kind ?? "exact") === "exact";
  const pageCount = () => Math.max(1, Math.ceil(reply.total / reply.page_size));
  const cursors = () => "next_cursor" in reply;
  const known = () => reply.page ?? (asked.last ? (exact() ? pageCount() : null) : (asked.page ?? null));

  /** The next (+1) or previous (-1) page: by number while the count is exact, else by cursor. */
  function step(delta) {
    const page = known();
    if (!cursors() || (exact() && reply.page !== null)) {
      onPage({ page: page + delta });
      return;
    }
    const cursor = delta > 0 ? reply.next_cursor : reply.prev_cursor;
    if (cursor) onPage({ [delta > 0 ? "after" : "before"]: cursor, page: page ? page + delta : 1 });
  }

  function show(shown, what = {}) {
    reply = shown;
    asked = what;
    const pages = exact() ? pageCount() : null;
    const page = known();
    const hasPrev = cursors() ? Boolean(reply.prev_cursor) : page > 1;
    const hasNext = cursors() ? Boolean(reply.next_cursor) : page < pages;
    const from = page ? (page - 1) * reply.page_size + 1 : null;
    const count = reply.items.length;
    range.textContent =
      count && from
        ? `${num(from)}–${num(from + count - 1)} of ${totalText(reply)}`
        : count
          ? `${num(count)} of ${totalText(reply)}`
          : "";
    pageLabel.textContent = page
      ? pages
        ? `Page ${num(page)} of ${num(pages)}`
        : `Page ${num(page)}`
      : hasNext
        ? "Page"
        : "Last page";
    first.disabled = !hasPrev;
    prev.disabled = !hasPrev;
    next.disabled = !hasNext;
    last.disabled = !hasNext;
    jump.hidden = !pages || pages <= 1;
    jumpInput.max = String(pages ?? 1);
    jumpInput.value = page ? String(page) : "";
    if (sizeSelect) sizeSelect.value = String(reply.page_size);
    root.hidden = !sizes && !hasPrev && !hasNext;
  }

  return { root, show };
}

/** A checkbox with its label and a hint under it, in the `.checks` list style. */
export function checkOption({ name, value, label, hint = null, checked = false }) {
  return h(
    "label",
    { class: "check" },
    h("input", { type: "checkbox", name, value, checked }),
    h("span", {}, label, hint ? h("span", { class: "check__hint" }, hint) : null),
  );
}
