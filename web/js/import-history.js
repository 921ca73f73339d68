// The import history card: the imports, newest first, a page at a time (ui.js's pager), with their
// counts, a link to each one's rejects, a "watch" button that hands a running import to the upload
// card, and "undo" on a finished one (with what it will delete and restore said before confirming;
// the undo is then watched too).
// While an import in it runs, the card asks again every LIVE_MS, so its row's counts and status follow the job.

import { get, post } from "./api.js";
import { clear, dateTime, duration, h, num, timeAgo } from "./dom.js";
import { elapsed, FINAL, jobUrl, percentOf, statusBadge } from "./import-job.js";
import {
  cardHead,
  confirmDialog,
  dataTable,
  emptyState,
  iconButton,
  loadError,
  pager,
  replaceRows,
  toast,
  toastError,
} from "./ui.js";

const HISTORY_SIZE = 8;
const LIVE_MS = 1500;
const COLUMNS = [
  "File",
  "Status",
  ...["Created", "Updated", "Unchanged", "Rejected"].map((label) => ({ label, className: "num" })),
];

/**
 * `trackedId()` names the job the upload card follows (it gets no "watch" button); `onWatch(job)`
 * is called with the snapshot of a running job to follow (null for a user who may not import: no
 * "watch" and no "undo"). Returns `loaded`, the first load's jobs.
 */
export function mountHistory(card, { trackedId, onWatch }) {
  const { wrap, tbody, state } = dataTable({
    className: "table--compact table--stack table--history",
    caption: "Recent imports",
    columns: COLUMNS,
    attrs: { "data-testid": "import-history" },
    loading: "the history",
  });
  const refresh = iconButton({ icon: "refresh", label: "Refresh import history", onclick: () => load() });
  const pages = pager({ label: "the import history", onPage: ({ page: n }) => load(n).catch(() => {}) });
  clear(
    card,
    cardHead({ title: "Import history", sub: "Recent imports, newest first.", aside: refresh }),
    wrap,
    state,
    pages.root,
  );

  let again = null; // the next live load, while an import runs
  let page = 1;

  async function load(n = page) {
    clearTimeout(again);
    let reply;
    try {
      reply = await get("/api/uploads", { page: n, page_size: HISTORY_SIZE });
    } catch (error) {
      clear(tbody);
      clear(state, loadError("the history", error));
      throw error;
    }
    if (!reply.items.length && reply.page > 1) return load(reply.page - 1); // its last imports were pruned
    page = reply.page;
    pages.show(reply);
    const jobs = reply.items;
    replaceRows(
      tbody,
      jobs.map((job) => row(job)),
    );
    clear(state, jobs.length ? null : emptyState("No imports yet", "Upload a CSV to see it here."));
    if (jobs.some((job) => !FINAL.has(job.status))) again = setTimeout(() => liveLoad(), LIVE_MS);
    return jobs;
  }

  /** What undoing `job` will do, in words, from its counts. */
  function undoText(job) {
    if (job.kind === "undo")
      return `${num(job.deleted)} products it deleted come back and ${num(job.restored)} get the import's values again.`;
    return `${num(job.created)} products it created will be deleted and ${num(job.updated)} will get their earlier values back.`;
  }

  async function undo(job) {
    const redo = job.kind === "undo";
    const ok = await confirmDialog({
      title: redo ? "Redo the import" : "Undo this import",
      message: `${redo ? "Take back" : "Undo"} ${job.filename}? ${undoText(job)}`,
      detail: "Products changed since are left alone and listed in a conflicts report.",
      confirmLabel: redo ? "Redo" : "Undo import",
    });
    if (!ok) return;
    try {
      const accepted = await post(jobUrl(job.job_id, "undo"));
      toast(redo ? `Redoing ${job.filename}.` : `Undoing ${job.filename}.`);
      onWatch(await get(accepted.progress_url));
    } catch (error) {
      toastError(error, "Could not undo");
    }
    load().catch(() => {});
  }

  function undoSummary(job) {
    const parts = [`${num(job.deleted)} deleted`, `${num(job.restored)} restored`];
    if (job.conflicts) parts.push(`${num(job.conflicts)} conflicts`);
    return parts.join(", ");
  }

  /** A preview (its counts are what its import would do) and a mode other than the default, in words. */
  function kindText(job) {
    const parts = [];
    if (job.dry_run)
      parts.push(job.confirmed_by ? "preview, imported" : job.expired_at ? "preview, expired" : "preview");
    if (job.mode && job.mode !== "upsert") parts.push(job.mode.replace("_", " "));
    return parts.length ? ` · ${parts.join(" · ")}` : null;
  }

  /** A live load: skipped (and tried later) while the card is off screen or the tab hidden. */
  function liveLoad() {
    if (!card.isConnected) return;
    if (document.hidden || !card.getClientRects().length) again = setTimeout(() => liveLoad(), LIVE_MS);
    else load().catch(() => {});
  }

  function row(job) {
    const id = job.job_id;
    const since = job.started_at ?? job.created_at;
    const cell = (label, value) => h("td", { class: "num cell-count", "data-label": label }, value);
    const running = !FINAL.has(job.status);
    return h(
      "tr",
      { "data-id": id },
      h(
        "td",
        { class: "cell-file", "data-label": "File" },
        h(
          "div",
          { class: "cell-stack" },
          h(
            "span",
            { class: "truncate cell-file__name", title: `${job.filename}, started ${dateTime(since)}` },
            job.filename,
          ),
          h(
            "span",
            { class: "cell-sub" },
            timeAgo(since),
            job.started_at && !running ? ` · took ${duration(elapsed(job))}` : null,
            job.kind === "undo" ? ` · ${undoSummary(job)}` : null,
            kindText(job),
          ),
        ),
      ),
      h(
        "td",
        { class: "cell-status", "data-label": "Status" },
        h(
          "div",
          { class: "cell-stack" },
          h(
            "span",
            {},
            statusBadge(job.status),
            running ? h("span", { class: "cell-pct" }, ` ${Math.floor(percentOf(job))}%`) : null,
            job.rejected && !running
              ? h(
                  "a",
                  {
                    href: jobUrl(id, "rejects"),
                    class: "link link--small",
                    download: "",
                    title: `Rejected rows of ${job.filename}`,
                  },
                  "rejects",
                )
              : null,
            running && onWatch && trackedId() !== id
              ? h("button", { type: "button", class: "link link--small", onclick: () => onWatch(job) }, "watch")
              : null,
            job.conflicts && !running
              ? h("a", { href: jobUrl(id, "conflicts"), class: "link link--small", download: "" }, "conflicts")
              : null,
            onWatch && !running && !job.undone_by && (job.kind === "undo" || job.created || job.updated)
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "link link--small",
                    "data-testid": "undo-import",
                    onclick: () => undo(job),
                  },
                  job.kind === "undo" ? "redo" : "undo",
                )
              : null,
          ),
          job.status === "failed" ? h("span", { class: "cell-sub cell-error", title: job.error }, job.error) : null,
        ),
      ),
      cell("Created", num(job.dry_run ? job.would_create : job.created)),
      cell("Updated", num(job.dry_run ? job.would_update : job.updated)),
      cell("Unchanged", num(job.unchanged)),
      cell("Rejected", num(job.rejected)),
    );
  }

  window.addEventListener("imports:changed", () => load().catch(() => {}));
  const loaded = load();
  loaded.catch(() => {});
  return { loaded };
}
