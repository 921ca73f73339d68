// The products view's "Export": what the view shows (its filters and sort) or the ticked rows, as a
// download. It is a plain link to GET /api/products/export, so the browser streams the file to disk
// (with the session cookie) and nothing of it is held in the page.

import { h, icon, num } from "./dom.js";
import { openModal } from "./ui.js";

/** The most ids a selection may send (fulfil.products.export.IDS_MAX). */
const IDS_MAX = 1000;

const FORMATS = [
  ["csv", "CSV", "The values exactly as stored: the file imports back unchanged."],
  [
    "spreadsheet",
    "CSV for a spreadsheet",
    "Cells that begin like a formula (= + - @) get a ' in front, so opening the file runs nothing.",
  ],
  ["xlsx", "Excel workbook (.xlsx)", "Ready once the whole workbook is built; at most 1,048,575 products."],
];

const FILTER_LABELS = { q: "search", sku: "SKU", name: "name", description: "description", active: "active" };

/** The "Export" button; `currentView()` gives `{ filter, sort, ids }`: the view's filters (as the
 * list takes them), its sort, and the ids ticked (empty: none). */
export function exportButton(currentView) {
  return h(
    "button",
    { type: "button", class: "btn", id: "export-products", onclick: () => openExport(currentView()) },
    icon("download"),
    "Export",
  );
}

function exportUrl(view, which, format) {
  const params = new URLSearchParams();
  if (which === "selected") params.set("ids", view.ids.join(","));
  else for (const [key, value] of Object.entries(view.filter)) params.set(key, String(value));
  if (view.sort !== "id") params.set("sort", view.sort);
  if (format === "xlsx") params.set("format", "xlsx");
  if (format === "spreadsheet") params.set("for", "spreadsheet");
  const search = params.toString();
  return `/api/products/export${search ? `?${search}` : ""}`;
}

function viewSummary(view) {
  const filters = Object.entries(view.filter).map(([key, value]) => `${FILTER_LABELS[key] ?? key}: “${value}”`);
  return filters.length
    ? `Every product matching the view’s filters (${filters.join(", ")}), in its sort order.`
    : "Every product, in the view’s sort order.";
}

function radio(name, value, label, hint, { checked = false, disabled = false } = {}) {
  return h(
    "label",
    { class: "check" },
    h("input", { type: "radio", name, value, checked, disabled }),
    h("span", {}, label, h("span", { class: "check__hint" }, hint)),
  );
}

function openExport(view) {
  const selected = view.ids.length;
  const tooMany = selected > IDS_MAX;
  const which =
    selected > 0
      ? h(
          "fieldset",
          { class: "field fieldset" },
          h("legend", { class: "field__label" }, "Products"),
          h(
            "div",
            { class: "checks" },
            radio(
              "export-which",
              "selected",
              `The ${num(selected)} selected`,
              tooMany
                ? `At most ${num(IDS_MAX)} at once: export the view, or select fewer.`
                : "In the view’s sort order.",
              { checked: !tooMany, disabled: tooMany },
            ),
            radio("export-which", "view", "The whole view", viewSummary(view), { checked: tooMany }),
          ),
        )
      : h("p", { class: "modal__desc", id: "export-what" }, viewSummary(view));
  const formats = h(
    "fieldset",
    { class: "field fieldset" },
    h("legend", { class: "field__label" }, "Format"),
    h(
      "div",
      { class: "checks" },
      FORMATS.map(([value, label, hint], i) => radio("export-format", value, label, hint, { checked: i === 0 })),
    ),
  );
  const download = h(
    "a",
    { class: "btn btn--primary", id: "export-download", download: "", href: "#" },
    icon("download"),
    "Download",
  );
  const content = h("div", {}, which, formats);
  function refresh() {
    const chosen = (name) => content.querySelector(`input[name=${name}]:checked`)?.value;
    download.href = exportUrl(view, chosen("export-which") ?? "view", chosen("export-format"));
  }
  content.addEventListener("change", refresh);
  refresh();
  const modal = openModal({
    title: "Export products",
    content,
    footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), download],
  });
  // Closed after the click has started the download (a link taken out of the page follows nothing).
  download.addEventListener("click", () => setTimeout(() => modal.close(), 0));
}
