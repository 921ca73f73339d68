// A finished preview's findings: what its import would do (counts), the first changes with each
// field's old and new value, and the first rejected rows; then "Import these N changes" or "Discard".

import { get } from "./api.js";
import { h, icon, num } from "./dom.js";
import { jobUrl } from "./import-job.js";
import { dataTable, notice } from "./ui.js";

const REJECTS_SHOWN = 5;

/** Rows of a CSV text (quoted fields with commas, quotes and line breaks), at most `limit`. */
export function csvRows(text, limit) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < limit; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if ((cell || row.length) && rows.length < limit) rows.push([...row, cell]);
  return rows;
}

const show = (value) => (value === null || value === undefined ? "—" : String(value));

function changeRows(changes) {
  return changes.map((change) =>
    h(
      "tr",
      {},
      h("td", {}, num(change.line)),
      h("td", {}, change.sku),
      h("td", {}, change.action === "create" ? "New" : "Update"),
      h(
        "td",
        {},
        h(
          "ul",
          { class: "diff" },
          Object.entries(change.fields).map(([field, { old, new: value }]) =>
            h(
              "li",
              {},
              h("strong", {}, `${field}: `),
              change.action === "create" ? null : h("del", {}, show(old)),
              change.action === "create" ? null : " → ",
              h("ins", {}, show(value)),
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * The preview's nodes for its final snapshot `snap`; `onConfirm` imports it, `onDiscard` drops it.
 * The changes and the first rejects are fetched into the tables as they arrive.
 */
export function previewResult(snap, { onConfirm, onDiscard }) {
  const changes = snap.would_create + snap.would_update;
  const figures = [
    `${num(snap.would_create)} to create`,
    `${num(snap.would_update)} to update`,
    `${num(snap.unchanged)} unchanged`,
    `${num(snap.skipped)} skipped`,
    `${num(snap.duplicates_in_file)} overridden later in the file`,
    `${num(snap.rejected)} rejected`,
  ];
  const summary = notice(
    "neutral",
    h("strong", {}, "Preview: nothing has been written yet. "),
    `Importing this file would give: ${figures.join(", ")}.`,
  );
  const diff = dataTable({
    className: "table--diff",
    caption: "The first changes the import would make",
    columns: ["Line", "SKU", "Change", "Fields (old → new)"],
    loading: "changes",
    attrs: { "data-testid": "preview-changes" },
  });
  get(jobUrl(snap.job_id, "changes"))
    .then(({ changes: sample }) => {
      diff.tbody.append(...changeRows(sample));
      diff.state.replaceChildren(sample.length ? "" : "No product would change.");
    })
    .catch((error) => diff.state.replaceChildren(notice("danger", `Could not load the changes: ${error.message}`)));
  const rejects = snap.rejected
    ? dataTable({
        className: "table--rejects",
        caption: "The first rejected rows",
        columns: ["Line", "Reason"],
        loading: "rejects",
        attrs: { "data-testid": "preview-rejects" },
      })
    : null;
  if (rejects) {
    fetch(jobUrl(snap.job_id, "rejects"), { headers: { Accept: "text/csv" } })
      .then((reply) => reply.text())
      .then((text) => {
        const rows = csvRows(text, REJECTS_SHOWN + 1).slice(1);
        rejects.tbody.append(...rows.map(([line, reason]) => h("tr", {}, h("td", {}, line), h("td", {}, reason))));
        rejects.state.replaceChildren("");
      })
      .catch((error) =>
        rejects.state.replaceChildren(notice("danger", `Could not load the rejects: ${error.message}`)),
      );
  }
  const confirm = h(
    "button",
    { type: "button", class: "btn btn--primary", id: "preview-confirm", disabled: changes === 0, onclick: onConfirm },
    icon("check"),
    `Import these ${num(changes)} changes`,
  );
  const discard = h(
    "button",
    { type: "button", class: "btn", id: "preview-discard", onclick: onDiscard },
    icon("x"),
    "Discard",
  );
  const nodes = [
    summary,
    h("h3", { class: "upload__subhead" }, "Changes"),
    diff.wrap,
    diff.state,
    rejects ? h("h3", { class: "upload__subhead" }, `First rejected rows (of ${num(snap.rejected)})`) : null,
    rejects?.wrap,
    rejects?.state,
  ];
  return { nodes, actions: [confirm, discard], confirm };
}
