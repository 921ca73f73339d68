// The mapping form shown when a file's header lacks sku or name: a select per field of ours with
// the file's columns, the first rows beside it, and an optional name to save it as a profile.

import { post } from "./api.js";
import { h, icon, uniqueId } from "./dom.js";
import { dataTable, notice, textField, toastError } from "./ui.js";

const FIELDS = [
  ["sku", "SKU", true],
  ["name", "Name", true],
  ["description", "Description", false],
  ["active", "Active", false],
];
const GUESSES = {
  sku: ["sku", "variant sku", "item no.", "item number", "article", "code", "product code", "ref"],
  name: ["name", "title", "product name", "product", "item name"],
  description: ["description", "body", "body (html)", "details", "long text", "text"],
  active: ["active", "status", "enabled", "published", "sellable"],
};

function guess(field, columns) {
  const wanted = GUESSES[field];
  return columns.find((column) => wanted.includes(column.trim().toLowerCase())) ?? "";
}

/**
 * The form's nodes for the failed job's snapshot `snap` (its `columns` and `sample_rows`).
 * `onSubmit({ mapping, dryRun })` sends the file again with the mapping, once any profile is saved.
 */
export function mappingForm(snap, { onSubmit }) {
  const columns = snap.columns.map((c) => c.column);
  const selects = {};
  const fields = FIELDS.map(([field, label, required]) => {
    const select = h(
      "select",
      { name: field, id: uniqueId(`map-${field}`), "data-field": field },
      h("option", { value: "" }, required ? "Choose a column" : "— not imported —"),
      columns.map((column) => h("option", { value: column, selected: column === guess(field, columns) }, column)),
    );
    selects[field] = select;
    return textField({ label, input: select, required }).wrap;
  });
  const sample = dataTable({
    className: "table--sample",
    caption: "The file's first rows",
    columns,
    attrs: { "data-testid": "mapping-sample" },
  });
  sample.tbody.append(
    ...(snap.sample_rows ?? []).map((row) =>
      h(
        "tr",
        {},
        row.map((cell) => h("td", {}, cell)),
      ),
    ),
  );
  const profileName = textField({
    label: "Save as profile (optional)",
    input: h("input", { type: "text", name: "profile", maxlength: "100", autocomplete: "off" }),
    hint: "A name to use this mapping again for files like this one.",
  });
  const problem = h("p", { class: "form-error", role: "alert", hidden: true });

  async function submit(dryRun) {
    const mapping = Object.fromEntries(
      Object.entries(selects)
        .filter(([, select]) => select.value)
        .map(([field, select]) => [field, select.value]),
    );
    if (!mapping.sku || !mapping.name) {
      problem.textContent = "Choose the columns that hold the SKU and the name.";
      problem.hidden = false;
      (mapping.sku ? selects.name : selects.sku).focus();
      return;
    }
    problem.hidden = true;
    const name = profileName.input.value.trim();
    if (name) {
      try {
        await post("/api/import-profiles", { name, mapping });
      } catch (error) {
        toastError(error, "Could not save the profile");
        return;
      }
    }
    onSubmit({ mapping, dryRun });
  }

  const form = h(
    "form",
    { class: "mapping", "data-testid": "mapping-form", onsubmit: (event) => event.preventDefault() },
    notice("neutral", h("strong", {}, "Map the file's columns. "), "Choose which column holds each field."),
    h("div", { class: "form-grid" }, fields),
    h("h3", { class: "upload__subhead" }, "First rows of the file"),
    sample.wrap,
    profileName.wrap,
    problem,
    h(
      "div",
      { class: "upload__actions" },
      h(
        "button",
        { type: "button", class: "btn", onclick: () => submit(true) },
        icon("search"),
        "Preview with this mapping",
      ),
      h(
        "button",
        { type: "button", class: "btn btn--primary", onclick: () => submit(false) },
        icon("upload"),
        "Import with this mapping",
      ),
    ),
  );
  return form;
}
