// The upload card's file picker: a drop zone that also opens the file dialog, the chosen file
// with a button to remove it, and the button that starts the upload.

import { bytes, h, icon } from "./dom.js";
import { iconButton } from "./ui.js";

/**
 * The picker's nodes for `file` (null: none chosen yet), under an optional `message`. `onChoose`
 * gets a picked or dropped file, or null when it is removed; `onStart` starts the upload.
 * Returns the nodes, the file input and the start button (for focus).
 */
export function filePicker(file, message, { onChoose, onStart }) {
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
  const start = h(
    "button",
    { type: "button", class: "btn btn--primary btn--block", id: "upload-start", disabled: !file, onclick: onStart },
    icon("upload"),
    "Upload CSV",
  );
  return { nodes: [message, drop, selected, start], input, start };
}
