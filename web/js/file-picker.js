// The upload card's file picker: a drop zone that also opens the file dialog, the chosen file
// with a button to remove it, the import's mode, and the buttons that preview or import it.

import { bytes, h, icon } from "./dom.js";
import { iconButton, textField } from "./ui.js";

export const MODES = [
  ["upsert", "Create new and update existing products"],
  ["create_only", "Only create new products (leave existing SKUs as they are)"],
  ["update_only", "Only update existing products (skip new SKUs)"],
];

/**
 * The picker's nodes for `file` (null: none chosen yet), under an optional `message`. `onChoose`
 * gets a picked or dropped file, or null when it is removed; `onStart({ mode, profile, dryRun })`
 * sends it, as an import or as a preview (`dryRun`), read with a saved mapping (`profile`, one of
 * `profiles`' names) or by its header's names. Returns the nodes, the file input and the start
 * button (for focus).
 */
export function filePicker(file, message, { onChoose, onStart, mode = "upsert", profiles = [], profile = "" }) {
  const input = h("input", {
    type: "file",
    id: "csv-file",
    name: "file",
    accept: ".csv,.tsv,.txt,text/csv,text/plain",
    class: "visually-hidden",
    onchange: () => onChoose(input.files[0] ?? null),
  });
  const drop = h(
    "div",
    { class: "dropzone", "data-testid": "dropzone" },
    icon("upload", { size: 28 }),
    h("p", { class: "dropzone__title" }, "Drag a CSV file here"),
    h("p", { class: "muted" }, "or"),
    input,
    h("label", { for: "csv-file", class: "btn" }, icon("file"), "Choose file"),
    h("p", { class: "dropzone__hint" }, "Columns: name, sku, description (optional), active (optional)."),
  );
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("dropzone--over");
    });
  }
  for (const type of ["dragleave", "dragend"]) {
    drop.addEventListener(type, () => drop.classList.remove("dropzone--over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dropzone--over");
    const dropped = event.dataTransfer?.files[0];
    if (dropped) onChoose(dropped);
  });
  const selected = file
    ? h(
        "div",
        { class: "file-row" },
        icon("file"),
        h(
          "div",
          { class: "file-row__text" },
          h("strong", {}, file.name),
          h("span", { class: "muted" }, bytes(file.size)),
        ),
        iconButton({ icon: "x", label: `Remove ${file.name}`, onclick: () => onChoose(null) }),
      )
    : null;
  const select = h(
    "select",
    { id: "import-mode", name: "mode" },
    MODES.map(([value, label]) => h("option", { value, selected: value === mode }, label)),
  );
  const modeField = textField({ label: "Existing SKUs", input: select }).wrap;
  const profileSelect = profiles.length
    ? h(
        "select",
        { id: "import-profile", name: "profile" },
        h("option", { value: "" }, "By the header's names (sku, name, …)"),
        profiles.map((name) => h("option", { value: name, selected: name === profile }, name)),
      )
    : null;
  const profileField = profileSelect ? textField({ label: "Columns", input: profileSelect }).wrap : null;
  const send = (dryRun) => onStart({ mode: select.value, profile: profileSelect?.value || null, dryRun });
  const preview = h(
    "button",
    { type: "button", class: "btn", id: "upload-preview", disabled: !file, onclick: () => send(true) },
    icon("search"),
    "Preview",
  );
  const start = h(
    "button",
    { type: "button", class: "btn btn--primary", id: "upload-start", disabled: !file, onclick: () => send(false) },
    icon("upload"),
    "Import",
  );
  const buttons = h("div", { class: "upload__actions" }, preview, start);
  return { nodes: [message, drop, selected, modeField, profileField, buttons], input, start };
}
