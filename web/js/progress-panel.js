// The upload card's progress panel: one import's bar, phase, rows and counts, redrawn from each
// progress snapshot, with a footer for the Cancel button and, at the end, the outcome.

import { bytes, clear, duration, h, icon, num } from "./dom.js";
import { FINAL, percentOf, phaseText, statusBadge } from "./import-job.js";

const STATS = [
  ["Created", "created"],
  ["Updated", "updated"],
  ["Unchanged", "unchanged"],
  ["Rejected", "rejected"],
  ["Skipped", "skipped"],
  ["Overridden in file", "duplicates"],
  ["Rows/s", "rate"],
  ["ETA", "eta"],
];

/** A panel titled with the file's name; the Cancel button calls `onCancel`. */
export function progressPanel(title, onCancel) {
  const bar = h("div", { class: "progress__fill" });
  const progress = h(
    "div",
    {
      class: "progress",
      role: "progressbar",
      "aria-label": "Import progress",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": "0",
    },
    bar,
  );
  const status = h("span");
  const phase = h("span", { class: "progress-panel__phase" }, "Starting");
  const percent = h("span", { class: "progress-panel__pct" }, "0%");
  const rows = h("p", { class: "progress-panel__rows" }, "\u00a0");
  const stats = Object.fromEntries(STATS.map(([, key]) => [key, h("dd", { "data-stat": key }, "–")]));
  const labels = Object.fromEntries(STATS.map(([label, key]) => [key, h("dt", {}, label)]));
  const cancel = h(
    "button",
    { type: "button", class: "btn btn--small", id: "upload-cancel", onclick: () => onCancel() },
    icon("stop", { size: 16 }),
    "Cancel",
  );
  const foot = h("div", { class: "progress-panel__foot" }, cancel);
  const root = h(
    "div",
    { class: "progress-panel", "data-testid": "import-progress" },
    h(
      "div",
      { class: "progress-panel__head" },
      h("div", { class: "progress-panel__file" }, icon("file"), h("strong", { class: "truncate" }, title)),
      status,
    ),
    h("div", { class: "progress-panel__line" }, phase, percent),
    progress,
    rows,
    h(
      "dl",
      { class: "stats" },
      STATS.map(([, key]) => h("div", { class: "stat" }, labels[key], stats[key])),
    ),
    foot,
  );

  /** Draw a snapshot (the API's, or one the card makes up while the file is still being sent). */
  function show(snap) {
    const pct = percentOf(snap);
    const rounded = Math.floor(pct);
    bar.style.width = `${pct}%`;
    bar.dataset.status = snap.status;
    progress.setAttribute("aria-valuenow", String(rounded));
    progress.setAttribute("aria-valuetext", `${rounded}% – ${snap.phase}`);
    clear(status, statusBadge(snap.status));
    phase.textContent = phaseText(snap);
    percent.textContent = `${rounded}%`;
    rows.textContent =
      snap.rows_total === null
        ? `${num(snap.rows_done)} rows · ${bytes(snap.bytes_done)} of ${bytes(snap.bytes_total)} read`
        : `${num(snap.rows_done)} of ${num(snap.rows_total)} rows`;
    // A preview's counts are what its import would do.
    labels.created.textContent = snap.dry_run ? "Would create" : "Created";
    labels.updated.textContent = snap.dry_run ? "Would update" : "Updated";
    stats.created.textContent = num(snap.dry_run ? snap.would_create : snap.created);
    stats.updated.textContent = num(snap.dry_run ? snap.would_update : snap.updated);
    stats.skipped.textContent = num(snap.skipped ?? null);
    stats.duplicates.textContent = num(snap.duplicates_in_file ?? null);
    stats.unchanged.textContent = num(snap.unchanged);
    stats.rejected.textContent = num(snap.rejected);
    stats.rate.textContent = snap.rows_per_second === null ? "–" : num(Math.round(snap.rows_per_second));
    stats.eta.textContent = FINAL.has(snap.status) ? "–" : duration(snap.eta_seconds);
  }

  /** The outcome above the footer, whose buttons become `actions`. */
  function end(message, ...actions) {
    clear(foot, ...actions);
    foot.before(message);
  }

  return {
    root,
    cancel,
    show,
    end,
    setPhase: (text) => {
      phase.textContent = text;
    },
  };
}
