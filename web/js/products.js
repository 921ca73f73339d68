// Products: filters, search and sort kept in the URL (a view survives reload and can be shared),
// pagination by page where the count is exact and by cursor past it, create and edit in a modal
// with the API's field errors, row selection and bulk actions on a selection or on a filter.

import { ApiError, del, get, post, put } from "./api.js";
import { clear, debounce, h, icon, num, timeAgo } from "./dom.js";
import { exportButton } from "./export.js";
import { historySection } from "./product-history.js";
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
  pager,
  replaceRows,
  setBusy,
  showErrors,
  switchControl,
  textField,
  toast,
  toastError,
  totalText,
} from "./ui.js";

const TEXT_FILTERS = ["q", "sku", "name", "description"];
const PAGE_SIZES = [10, 25, 50, 100, 250, 500];
const DEFAULTS = {
  q: "",
  sku: "",
  name: "",
  description: "",
  active: "",
  sort: "-id",
  page: 1,
  page_size: 25,
  after: "",
  before: "",
  last: "",
};
const CURSORS = ["after", "before", "last"];
const NO_CURSOR = { after: "", before: "", last: "" };
const SORTS = [
  ["-id", "Newest first"],
  ["id", "Oldest first"],
  ["name", "Name A–Z"],
  ["-name", "Name Z–A"],
  ["sku", "SKU A–Z"],
  ["-sku", "SKU Z–A"],
  ["description", "Description A–Z"],
  ["-description", "Description Z–A"],
  ["-active", "Active first"],
  ["active", "Inactive first"],
  ["-created_at", "Created, newest"],
  ["created_at", "Created, oldest"],
  ["-updated_at", "Updated, newest"],
  ["updated_at", "Updated, oldest"],
];
const BULK_CONFIRM_WORD = "DELETE";
const JOB_POLL_MS = 500;

const COLUMNS = [
  { key: "id", label: "ID", sort: "id", className: "num col-id" },
  { key: "sku", label: "SKU", sort: "sku", className: "col-sku" },
  { key: "name", label: "Name", sort: "name", className: "col-name" },
  { key: "description", label: "Description", sort: "description", className: "col-desc" },
  { key: "active", label: "Status", sort: "active", className: "col-active" },
  { key: "updated_at", label: "Updated", sort: "updated_at", className: "col-updated" },
  { key: "actions", label: "Actions", className: "col-actions", hidden: true },
];

function readState() {
  const params = new URLSearchParams(window.location.search);
  const state = { ...DEFAULTS };
  for (const key of [...TEXT_FILTERS, "active", "sort", ...CURSORS]) state[key] = params.get(key) ?? DEFAULTS[key];
  if (!["", "true", "false"].includes(state.active)) state.active = "";
  if (!SORTS.some(([value]) => value === state.sort)) state.sort = DEFAULTS.sort;
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
  let lastReply = null;
  // The selection: ids ticked on any page, or "every product the filter matches".
  const selected = new Map();
  let allMatching = false;

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
    {
      type: "button",
      class: "btn btn--ghost btn--small btn--danger-text",
      id: "bulk-delete-all",
      onclick: () => bulkDelete(),
    },
    icon("trash", { size: 16 }),
    "Bulk Delete (every product)…",
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
      debounce(() => update({ [key]: input.value.trim(), page: 1, ...NO_CURSOR }, false), 300),
    );
    filterInputs[key] = input;
    return textField({ label, input, className: `filter filter--${key}` }).wrap;
  };
  const activeSelect = h(
    "select",
    {
      name: "active",
      id: "filter-active",
      onchange: () => update({ active: activeSelect.value, page: 1, ...NO_CURSOR }, true),
    },
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
  const searchWrap = textFilter("q", "Search", "SKU or name", { class: "input--search" });
  const searchHint = h("p", { class: "field__hint", id: "search-hint" }, "An exact SKU comes first.");
  searchWrap.append(searchHint);
  const sortSelect = h(
    "select",
    {
      name: "sort",
      id: "sort-select",
      onchange: () => update({ sort: sortSelect.value, page: 1, ...NO_CURSOR }, true),
    },
    SORTS.map(([value, label]) => h("option", { value }, label)),
  );
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

  // Pager: by page number while the count is exact, by cursor past it (every row stays reachable).
  const pages = pager({
    label: "products",
    id: "products",
    sizes: PAGE_SIZES,
    onSize: (size) => update({ page_size: size, page: 1, ...NO_CURSOR }, true),
    onPage: ({ page = 1, after = "", before = "", last = false }) =>
      update({ ...NO_CURSOR, page, after, before, last: last ? "true" : "" }, true),
  });

  // Selection bar: what is selected and what can be done with it.
  const selectionText = h("span", { class: "selection__text", id: "selection-text", "aria-live": "polite" });
  const selectAll = h("button", { type: "button", class: "btn btn--ghost btn--small", id: "select-all-matching" });
  const bulkProgress = h("progress", { id: "bulk-progress", "aria-label": "Bulk action progress", hidden: true });
  const selectionBar = h(
    "div",
    { class: "selection", id: "selection-bar", hidden: true },
    selectionText,
    bulkProgress,
    selectAll,
    h("button", { type: "button", class: "btn btn--small", onclick: () => bulkAction("update", true) }, "Set active"),
    h(
      "button",
      { type: "button", class: "btn btn--small", onclick: () => bulkAction("update", false) },
      "Set inactive",
    ),
    h(
      "button",
      {
        type: "button",
        class: "btn btn--small btn--danger",
        id: "delete-selected",
        onclick: () => bulkAction("delete"),
      },
      icon("trash", { size: 16 }),
      "Delete",
    ),
    h(
      "button",
      { type: "button", class: "btn btn--ghost btn--small", onclick: () => clearSelection() },
      "Clear selection",
    ),
  );

  clear(
    card,
    cardHead({
      title: "Products",
      titleId: "products-title",
      large: true,
      sub: count,
      aside: h(
        "div",
        { class: "card__actions" },
        exportButton(() => ({
          filter: filterParams(),
          sort: state.sort,
          ids: allMatching ? [] : [...selected.keys()],
        })),
        can("products:write") && createButton,
      ),
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
      textField({ label: "Sort", input: sortSelect, className: "filter filter--sort" }).wrap,
    ),
    selectionBar,
    tableWrap,
    tableState,
    pages.root,
    can("admin") && h("div", { class: "card__foot" }, bulkButton),
  );

  function syncControls() {
    for (const key of TEXT_FILTERS) {
      if (document.activeElement !== filterInputs[key]) filterInputs[key].value = state[key];
    }
    activeSelect.value = state.active;
    sortSelect.value = state.sort;
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
        h("th", { scope: "col", class: "col-select" }, can("products:write") && pageCheckbox),
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
                onclick: () => update({ sort: nextSort, page: 1, ...NO_CURSOR }, true),
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

  const pageCheckbox = h("input", {
    type: "checkbox",
    id: "select-page",
    "aria-label": "Select every product on this page",
    onchange: () => {
      for (const product of lastReply?.items ?? []) {
        if (pageCheckbox.checked) selected.set(product.id, product);
        else selected.delete(product.id);
      }
      allMatching = false;
      renderSelection();
    },
  });

  function filterParams() {
    const filter = {};
    for (const key of TEXT_FILTERS) if (state[key]) filter[key] = state[key];
    if (state.active) filter.active = state.active === "true";
    return filter;
  }

  function clearSelection() {
    selected.clear();
    allMatching = false;
    renderSelection();
  }

  function renderSelection() {
    const items = lastReply?.items ?? [];
    for (const box of tbody.querySelectorAll("input[data-select]")) {
      box.checked = allMatching || selected.has(Number(box.dataset.select));
      box.disabled = allMatching;
    }
    const pageAll = items.length > 0 && items.every((p) => selected.has(p.id));
    pageCheckbox.checked = allMatching || pageAll;
    pageCheckbox.indeterminate = !pageCheckbox.checked && items.some((p) => selected.has(p.id));
    pageCheckbox.disabled = allMatching || !items.length;
    const filtered = Object.keys(filterParams()).length > 0;
    selectionBar.hidden = !can("products:write") || (!allMatching && selected.size === 0);
    selectionText.textContent = allMatching
      ? `All ${lastReply ? totalText(lastReply) : ""} matching products are selected.`
      : `${num(selected.size)} selected.`;
    const offerAll = !allMatching && pageAll && filtered && lastReply && lastReply.total > items.length;
    selectAll.hidden = !offerAll;
    if (offerAll) {
      selectAll.textContent = `Select all ${totalText(lastReply)} matching`;
      selectAll.onclick = () => {
        allMatching = true;
        renderSelection();
      };
    }
  }

  function update(changes, push) {
    state = { ...state, ...changes };
    writeState(state, push);
    load();
  }

  function resetFilters() {
    update({ q: "", sku: "", name: "", description: "", active: "", page: 1, ...NO_CURSOR }, true);
    filterInputs.q.focus();
  }

  async function load() {
    syncControls();
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    table.setAttribute("aria-busy", "true");
    card.classList.add("is-loading");
    const params = { sort: state.sort, page_size: state.page_size, active: state.active };
    for (const key of TEXT_FILTERS) params[key] = state[key];
    const cursor = CURSORS.find((key) => state[key]);
    if (cursor) params[cursor] = state[cursor];
    else params.page = state.page;
    try {
      const reply = await get("/api/products", params, controller.signal);
      if (loading !== controller) return;
      // A numbered page past the end (rows deleted since) moves to the last one; never an empty page.
      if (!reply.items.length && !cursor && state.page > 1) {
        update({ page: 1, ...NO_CURSOR, last: "true" }, false);
        return;
      }
      if (!reply.items.length && cursor) {
        update({ page: 1, ...NO_CURSOR }, false);
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
    lastReply = reply;
    const { items, total } = reply;
    const filtered = [...TEXT_FILTERS, "active"].some((key) => state[key]);
    const noun = total === 1 ? (filtered ? "product matches" : "product") : filtered ? "products match" : "products";
    count.textContent = `${totalText(reply)} ${noun}${filtered ? " the filters" : ""}`;
    searchHint.textContent = reply.search_indexed
      ? "Matches anywhere in the SKU or name; an exact SKU comes first."
      : "Matches anywhere in the SKU or name; an exact SKU comes first. This server has no pg_trgm, so searches read the whole table (up to a second at a million products).";
    if (!filtered) bulkButton.disabled = total === 0;
    const pinned = reply.sku_match && !items.some((p) => p.id === reply.sku_match.id) ? [reply.sku_match] : [];
    replaceRows(tbody, [
      ...pinned.map((product) => row(product, true)),
      ...items.map((product) => row(product, reply.sku_match?.id === product.id)),
    ]);
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
    pages.show(reply, { page: state.page, last: Boolean(state.last) });
    renderSelection();
  }

  function row(product, exactSku = false) {
    const label = `${product.sku}`;
    const box = h("input", {
      type: "checkbox",
      "data-select": String(product.id),
      "aria-label": `Select ${label}`,
      onchange: () => {
        if (box.checked) selected.set(product.id, product);
        else selected.delete(product.id);
        renderSelection();
      },
    });
    return h(
      "tr",
      { "data-id": product.id, class: exactSku ? "row--exact" : null, title: exactSku ? "Exact SKU" : null },
      h("td", { class: "col-select", "data-label": "Select" }, can("products:write") && box),
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
        editing ? historySection(product.id) : null,
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

  /** Delete, or set active (`value`), on the selection or on everything the filter matches. */
  async function bulkAction(kind, value = null) {
    const selection = allMatching ? { filter: filterParams() } : { ids: [...selected.keys()] };
    const path = kind === "delete" ? "/api/products/bulk-delete" : "/api/products/bulk-update";
    const body = kind === "delete" ? selection : { ...selection, set: { active: value } };
    let counted;
    try {
      counted = await post(path, { ...body, dry_run: true });
    } catch (error) {
      toastError(error, "Could not count the selection");
      return;
    }
    const verb = kind === "delete" ? "Delete" : value ? "Set active on" : "Set inactive on";
    const n = counted.affected;
    if (!n) {
      toast(
        kind === "delete"
          ? "Nothing to delete."
          : `All ${num(counted.matched)} are already ${value ? "active" : "inactive"}.`,
      );
      return;
    }
    const ok = await confirmDialog({
      title: `${verb} ${num(n)} products`,
      message:
        kind === "delete"
          ? `Delete ${num(n)} products? This cannot be undone.`
          : `${verb} ${num(n)} products (${num(counted.matched - n)} already are)?`,
      detail: allMatching
        ? "Every product the current filters match, not only this page. Webhooks get one summary event."
        : "The selected products. Webhooks get one summary event.",
      confirmLabel: `${verb} ${num(n)} products`,
      danger: kind === "delete",
      typed: String(n),
    });
    if (!ok) return;
    try {
      const result = await post(path, body);
      const done = result.job ? await followJob(result.job, kind === "delete" ? "Deleting" : "Changing") : result;
      if (done.status === "failed") toast(`${done.error} ${num(done.affected)} products were changed.`, "error");
      else toast(`${kind === "delete" ? "Deleted" : "Changed"} ${num(done.affected)} products.`);
      clearSelection();
      update(kind === "delete" ? { page: 1, ...NO_CURSOR } : {}, false);
    } catch (error) {
      toastError(error, "The bulk action failed");
    } finally {
      bulkProgress.hidden = true;
    }
  }

  /** A bulk action over more than one batch runs as a job: poll it, showing how far it got, until it ends. */
  async function followJob(job, doing) {
    bulkProgress.max = job.matched;
    bulkProgress.hidden = false;
    let now = job;
    while (now.status === "queued" || now.status === "running") {
      bulkProgress.value = now.affected;
      selectionText.textContent = `${doing}… ${num(now.affected)} of ${num(now.matched)} done.`;
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      now = await get(job.progress_url);
    }
    return now;
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
      clearSelection();
      update({ page: 1, ...NO_CURSOR }, false);
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
