// Products: filters, search and sort kept in the URL (a view survives reload and can be shared),
// pagination, create and edit in a modal with the API's field errors, delete and bulk delete.

import { ApiError, del, get, post, put } from "./api.js";
import { clear, debounce, h, icon, num, timeAgo } from "./dom.js";
import { can } from "./session.js";
import {
  badge,
  cardHead,
  clearErrors,
  confirmDialog,
  dataTable,
  emptyState,
  formBanner,
  headerCell,
  iconButton,
  loadError,
  openModal,
  replaceRows,
  setBusy,
  showErrors,
  switchControl,
  textField,
  toast,
  toastError,
} from "./ui.js";

const TEXT_FILTERS = ["q", "sku", "name", "description"];
const PAGE_SIZES = [10, 25, 50, 100, 250, 500];
const DEFAULTS = { q: "", sku: "", name: "", description: "", active: "", sort: "-id", page: 1, page_size: 25 };
const BULK_CONFIRM_WORD = "DELETE";

const COLUMNS = [
  { key: "id", label: "ID", sort: "id", className: "num col-id" },
  { key: "sku", label: "SKU", sort: "sku", className: "col-sku" },
  { key: "name", label: "Name", sort: "name", className: "col-name" },
  { key: "description", label: "Description", className: "col-desc" },
  { key: "active", label: "Status", className: "col-active" },
  { key: "updated_at", label: "Updated", sort: "updated_at", className: "col-updated" },
  { key: "actions", label: "Actions", className: "col-actions", hidden: true },
];

function readState() {
  const params = new URLSearchParams(window.location.search);
  const state = { ...DEFAULTS };
  for (const key of [...TEXT_FILTERS, "active", "sort"]) state[key] = params.get(key) ?? DEFAULTS[key];
  if (!["", "true", "false"].includes(state.active)) state.active = "";
  const page = Number.parseInt(params.get("page"), 10);
  const size = Number.parseInt(params.get("page_size"), 10);
  state.page = page > 0 ? page : 1;
  state.page_size = PAGE_SIZES.includes(size) ? size : DEFAULTS.page_size;
  return state;
}

function writeState(state, push) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (String(value) !== String(DEFAULTS[key])) params.set(key, value);
  }
  const search = params.toString();
  const url = `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`;
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  window.history[push ? "pushState" : "replaceState"](null, "", url);
}

export function mountProducts(card) {
  let state = readState();
  let loading = null;

  // Header and actions.
  const count = h("p", { class: "card__sub", id: "products-count", "aria-live": "polite" }, "\u00a0");
  const createButton = h(
    "button",
    { type: "button", class: "btn btn--primary", onclick: () => editProduct(null) },
    icon("plus"),
    "New product",
  );
  const bulkButton = h(
    "button",
    { type: "button", class: "btn btn--danger-ghost", onclick: () => bulkDelete() },
    icon("trash"),
    "Bulk Delete",
  );

  // Filters.
  const filterInputs = {};
  const textFilter = (key, label, placeholder, extra = {}) => {
    const input = h("input", {
      type: key === "q" ? "search" : "text",
      name: key,
      value: state[key],
      placeholder,
      autocomplete: "off",
      id: `filter-${key}`,
      ...extra,
    });
    input.addEventListener(
      "input",
      debounce(() => update({ [key]: input.value.trim(), page: 1 }, false), 300),
    );
    filterInputs[key] = input;
    return textField({ label, input, className: `filter filter--${key}` }).wrap;
  };
  const activeSelect = h(
    "select",
    { name: "active", id: "filter-active", onchange: () => update({ active: activeSelect.value, page: 1 }, true) },
    h("option", { value: "" }, "All"),
    h("option", { value: "true" }, "Active"),
    h("option", { value: "false" }, "Inactive"),
  );
  filterInputs.active = activeSelect;
  const clearFilters = h(
    "button",
    { type: "button", class: "btn btn--ghost btn--small", id: "filters-clear", onclick: () => resetFilters() },
    icon("x", { size: 16 }),
    "Clear filters",
  );
  const searchWrap = textFilter("q", "Search", "SKU, name or description", { class: "input--search" });
  searchWrap.classList.add("field--search");
  searchWrap.querySelector("input").before(h("span", { class: "input-icon" }, icon("search", { size: 16 })));

  // On a phone only the search box shows; this button opens the other filters.
  const moreCount = h("span", { class: "filters__count", "aria-hidden": "true" });
  const moreLabel = h("span", { class: "visually-hidden" }, "More filters");
  const moreToggle = h(
    "button",
    {
      type: "button",
      class: "btn filters__toggle",
      "aria-expanded": "false",
      "aria-controls": "filters-more",
      onclick: () => {
        const open = moreToggle.getAttribute("aria-expanded") !== "true";
        moreToggle.setAttribute("aria-expanded", String(open));
        moreToggle.closest(".filters").classList.toggle("filters--open", open);
      },
    },
    icon("filter", { size: 16 }),
    moreLabel,
    moreCount,
  );

  // Table.
  const {
    wrap: tableWrap,
    table,
    thead,
    tbody,
    state: tableState,
  } = dataTable({
    className: "table--stack table--products",
    caption: "Products",
    attrs: { "data-testid": "products-table", "aria-describedby": "products-count" },
    loading: "products",
  });

  // Pager.
  const pageLabel = h("span", { class: "pager__label", id: "products-page", "aria-live": "polite" });
  const prev = h(
    "button",
    {
      type: "button",
      class: "btn btn--small",
      "aria-label": "Previous page",
      onclick: () => update({ page: state.page - 1 }, true),
    },
    icon("left", { size: 16 }),
    h("span", { class: "hide-sm" }, "Previous"),
  );
  const next = h(
    "button",
    {
      type: "button",
      class: "btn btn--small",
      "aria-label": "Next page",
      onclick: () => update({ page: state.page + 1 }, true),
    },
    h("span", { class: "hide-sm" }, "Next"),
    icon("right", { size: 16 }),
  );
  const sizeSelect = h(
    "select",
    {
      id: "page-size",
      name: "page_size",
      onchange: () => update({ page_size: Number(sizeSelect.value), page: 1 }, true),
    },
    PAGE_SIZES.map((size) => h("option", { value: String(size) }, String(size))),
  );
  const range = h("span", { class: "pager__range muted" });

  clear(
    card,
    cardHead({
      title: "Products",
      titleId: "products-title",
      large: true,
      sub: count,
      aside: h("div", { class: "card__actions" }, can("admin") && bulkButton, can("products:write") && createButton),
    }),
    h(
      "form",
      {
        class: "filters",
        role: "search",
        "aria-label": "Filter products",
        onsubmit: (event) => event.preventDefault(),
      },
      searchWrap,
      moreToggle,
      h(
        "div",
        { class: "filters__more", id: "filters-more" },
        textFilter("sku", "SKU", "Contains…"),
        textFilter("name", "Name", "Contains…"),
        textFilter("description", "Description", "Contains…"),
        textField({ label: "Active", input: activeSelect, className: "filter filter--active" }).wrap,
        h("div", { class: "filters__clear" }, clearFilters),
      ),
    ),
    tableWrap,
    tableState,
    h(
      "div",
      { class: "pager" },
      range,
      h(
        "div",
        { class: "pager__controls" },
        h("label", { for: "page-size", class: "pager__size" }, "Rows per page", sizeSelect),
        h("div", { class: "pager__nav" }, prev, pageLabel, next),
      ),
    ),
  );

  function syncControls() {
    for (const key of TEXT_FILTERS) {
      if (document.activeElement !== filterInputs[key]) filterInputs[key].value = state[key];
    }
    activeSelect.value = state.active;
    sizeSelect.value = String(state.page_size);
    clearFilters.parentElement.hidden = ![...TEXT_FILTERS, "active"].some((key) => state[key]);
    const narrowing = ["sku", "name", "description", "active"].filter((key) => state[key]).length;
    moreCount.textContent = narrowing ? String(narrowing) : "";
    moreLabel.textContent = narrowing ? `More filters (${narrowing} in use)` : "More filters";
    renderHead();
  }

  function renderHead() {
    const sortKey = state.sort.replace(/^-/, "");
    const descending = state.sort.startsWith("-");
    clear(
      thead,
      h(
        "tr",
        {},
        COLUMNS.map((column) => {
          if (!column.sort) return headerCell(column);
          const active = column.sort === sortKey;
          const direction = active ? (descending ? "descending" : "ascending") : "none";
          const nextSort = active && !descending ? `-${column.sort}` : column.sort;
          return h(
            "th",
            { scope: "col", class: column.className, "aria-sort": direction },
            h(
              "button",
              {
                type: "button",
                class: `sort-btn${active ? " sort-btn--active" : ""}`,
                "data-sort": column.sort,
                onclick: () => update({ sort: nextSort, page: 1 }, true),
              },
              column.label,
              icon(active ? (descending ? "down" : "up") : "sort", { size: 14 }),
              h(
                "span",
                { class: "visually-hidden" },
                active
                  ? `, sorted ${direction}; activate to sort ${descending ? "ascending" : "descending"}`
                  : ", activate to sort",
              ),
            ),
          );
        }),
      ),
    );
  }

  function update(changes, push) {
    state = { ...state, ...changes };
    writeState(state, push);
    load();
  }

  function resetFilters() {
    update({ q: "", sku: "", name: "", description: "", active: "", page: 1 }, true);
    filterInputs.q.focus();
  }

  async function load() {
    syncControls();
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    table.setAttribute("aria-busy", "true");
    card.classList.add("is-loading");
    const params = { sort: state.sort, page: state.page, page_size: state.page_size, active: state.active };
    for (const key of TEXT_FILTERS) params[key] = state[key];
    try {
      const reply = await get("/api/products", params, controller.signal);
      if (loading !== controller) return;
      const pages = Math.max(1, Math.ceil(reply.total / state.page_size));
      if (state.page > pages && reply.total > 0) {
        update({ page: pages }, false);
        return;
      }
      render(reply);
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(tbody);
      clear(tableState, loadError("products", error));
    } finally {
      if (loading === controller) {
        loading = null;
        table.removeAttribute("aria-busy");
        card.classList.remove("is-loading");
      }
    }
  }

  function render(reply) {
    const { items, total } = reply;
    const filtered = [...TEXT_FILTERS, "active"].some((key) => state[key]);
    const pages = Math.max(1, Math.ceil(total / state.page_size));
    const about = reply.total_exact ? "" : "about ";
    const noun = total === 1 ? (filtered ? "product matches" : "product") : filtered ? "products match" : "products";
    count.textContent = `${about}${num(total)} ${noun}${filtered ? " the filters" : ""}`;
    replaceRows(
      tbody,
      items.map((product) => row(product)),
    );
    clear(
      tableState,
      items.length
        ? null
        : filtered
          ? emptyState(
              "No products match these filters",
              "Try a shorter search or clear the filters.",
              h("button", { type: "button", class: "btn", onclick: () => resetFilters() }, "Clear filters"),
            )
          : emptyState(
              "No products yet",
              "Import a CSV above or create one.",
              can("products:write") &&
                h(
                  "button",
                  { type: "button", class: "btn btn--primary", onclick: () => editProduct(null) },
                  icon("plus"),
                  "New product",
                ),
            ),
    );
    const first = total ? (state.page - 1) * state.page_size + 1 : 0;
    range.textContent = total ? `${num(first)}–${num(first + items.length - 1)} of ${about}${num(total)}` : "";
    pageLabel.textContent = `Page ${num(state.page)} of ${about}${num(pages)}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
  }

  function row(product) {
    const label = `${product.sku}`;
    return h(
      "tr",
      { "data-id": product.id },
      h("td", { class: "num col-id", "data-label": "ID" }, String(product.id)),
      h(
        "td",
        { class: "col-sku", "data-label": "SKU" },
        h("code", { class: "sku truncate", title: product.sku }, product.sku),
      ),
      h(
        "td",
        { class: "col-name", "data-label": "Name" },
        h("span", { class: "truncate", title: product.name }, product.name),
      ),
      h(
        "td",
        { class: "col-desc", "data-label": "Description" },
        product.description
          ? h("span", { class: "clamp", title: product.description }, product.description)
          : h("span", { class: "muted" }, "–"),
      ),
      h(
        "td",
        { class: "col-active", "data-label": "Status" },
        product.active ? badge("Active", "success") : badge("Inactive", "neutral"),
      ),
      h("td", { class: "col-updated", "data-label": "Updated" }, timeAgo(product.updated_at)),
      h(
        "td",
        { class: "col-actions", "data-label": "Actions" },
        can("products:write") &&
          h(
            "div",
            { class: "row-actions" },
            iconButton({ icon: "edit", label: `Edit ${label}`, title: "Edit", onclick: () => editProduct(product) }),
            iconButton({
              icon: "trash",
              label: `Delete ${label}`,
              title: "Delete",
              danger: true,
              onclick: () => deleteProduct(product),
            }),
          ),
      ),
    );
  }

  // Create and edit -------------------------------------------------------------------------

  function editProduct(product) {
    const editing = product !== null;
    const sku = h("input", {
      type: "text",
      name: "sku",
      value: editing ? product.sku : "",
      maxlength: "100",
      autocomplete: "off",
      spellcheck: "false",
    });
    const name = h("input", {
      type: "text",
      name: "name",
      value: editing ? product.name : "",
      maxlength: "255",
      autocomplete: "off",
    });
    const description = h("textarea", { name: "description", rows: "4", maxlength: "10000" });
    description.value = editing ? product.description || "" : "";
    const active = switchControl({
      label: "Active",
      name: "active",
      checked: editing ? product.active : true,
      hint: "Inactive products stay in the catalogue but are marked as not for sale.",
    });
    const save = h(
      "button",
      { type: "submit", class: "btn btn--primary" },
      editing ? "Save changes" : "Create product",
    );
    const modal = openModal({
      title: editing ? `Edit ${product.sku}` : "New product",
      description: editing ? `Product #${product.id}` : null,
      content: [
        formBanner(),
        h(
          "div",
          { class: "form-grid" },
          textField({ label: "SKU", input: sku, required: true, hint: "Unique, not case-sensitive." }).wrap,
          textField({ label: "Name", input: name, required: true }).wrap,
        ),
        textField({ label: "Description", input: description, hint: "Optional." }).wrap,
        h("div", { class: "field" }, active.wrap),
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), save],
      onSubmit: async (form) => {
        clearErrors(form);
        const payload = {
          sku: sku.value,
          name: name.value,
          description: description.value.trim() ? description.value : null,
          active: active.input.checked,
        };
        setBusy(save, true, "Saving…");
        try {
          const saved = editing
            ? await put(`/api/products/${product.id}`, payload)
            : await post("/api/products", payload);
          modal.close();
          toast(editing ? `Saved ${saved.sku}.` : `Created ${saved.sku}.`);
          load();
        } catch (error) {
          setBusy(save, false, "Saving…");
          if (!(error instanceof ApiError)) throw error;
          if (error.status === 409 && !Object.keys(error.fieldErrors()).length)
            error.details = [{ field: "sku", message: error.message }];
          const owner = error.status === 409 ? await skuOwner(error) : null;
          if (owner) error.details = [{ field: "sku", message: `is already used by ${owner.sku} (${owner.name})` }];
          showErrors(form, error);
          if (owner) document.getElementById(`${sku.id}-error`).append(" ", ownerLink(owner));
          if (error.status !== 422 && error.status !== 409) toastError(error);
        }
      },
    });
  }

  /** The product that holds the SKU of a 409 (its id is in the details), or null if it is gone. */
  async function skuOwner(error) {
    const id = error.details.find((detail) => detail.field.endsWith("sku"))?.id;
    if (!id) return null;
    return get(`/api/products/${id}`).catch(() => null);
  }

  /** A link to the products list filtered to that SKU. */
  function ownerLink(owner) {
    const href = `${window.location.pathname}?${new URLSearchParams({ sku: owner.sku })}#products`;
    return h("a", { href, class: "link" }, `Open ${owner.sku}`);
  }

  async function deleteProduct(product) {
    const ok = await confirmDialog({
      title: "Delete product",
      message: `Delete ${product.sku} (${product.name})?`,
      detail: "This cannot be undone.",
      confirmLabel: "Delete product",
    });
    if (!ok) return;
    try {
      await del(`/api/products/${product.id}`);
      toast(`Deleted ${product.sku}.`);
      load();
    } catch (error) {
      toastError(error, `Could not delete ${product.sku}`);
      if (error.status === 404) load();
    }
  }

  async function bulkDelete() {
    let total = null;
    try {
      const reply = await get("/api/products", { page_size: 1 });
      total = reply.total_exact ? reply.total : null;
    } catch {
      // The dialog still works without the count.
    }
    const which = total === null ? "Every product" : `All ${num(total)} products`;
    const ok = await confirmDialog({
      title: "Bulk Delete: delete every product",
      message: "Are you sure? This cannot be undone.",
      detail: `${which} will be deleted, not only the ones on this page. Webhooks get one product.bulk_deleted event.`,
      confirmLabel: "Delete all products",
      typed: BULK_CONFIRM_WORD,
    });
    if (!ok) return;
    setBusy(bulkButton, true);
    try {
      const { deleted } = await del("/api/products/bulk", { confirm: "true" });
      toast(`Deleted ${num(deleted)} products.`);
      update({ page: 1 }, false);
    } catch (error) {
      toastError(error, "Bulk delete failed");
    } finally {
      setBusy(bulkButton, false);
    }
  }

  window.addEventListener("popstate", () => {
    state = readState();
    load();
  });
  window.addEventListener("products:changed", () => load());
  load();
}
