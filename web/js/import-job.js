// What the upload card and the import history both know about an import job: its statuses, its
// URLs and the figures derived from its progress snapshot.

import { badge } from "./ui.js";

export const FINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);

const STATUS = {
  queued: ["Queued", "neutral"],
  running: ["Running", "info"],
  completed: ["Completed", "success"],
  completed_with_errors: ["Completed with rejects", "warning"],
  failed: ["Failed", "danger"],
  cancelled: ["Cancelled", "neutral"],
};

export function statusBadge(status) {
  const [text, tone] = STATUS[status];
  return badge(text, tone);
}

/** `/api/upload/{id}/progress`, `.../stream`, `.../rejects`, `.../cancel`. */
export const jobUrl = (jobId, what) => `/api/upload/${encodeURIComponent(jobId)}/${what}`;

export function percentOf(snap) {
  if (snap.status === "completed" || snap.status === "completed_with_errors") return 100;
  if (snap.rows_total) return Math.min(100, (100 * snap.rows_done) / snap.rows_total);
  if (snap.bytes_total) return Math.min(100, (100 * snap.bytes_done) / snap.bytes_total);
  return 0;
}

/** Seconds since the job started (to its end, once finished); null while it is queued. */
export function elapsed(snap) {
  if (!snap.started_at) return null;
  const end = snap.finished_at ? new Date(snap.finished_at) : new Date();
  return (end - new Date(snap.started_at)) / 1000;
}

/** "importing" -> "Importing", "upload failed" -> "Upload failed". */
export function phaseText(snap) {
  return snap.phase.charAt(0).toUpperCase() + snap.phase.slice(1).replaceAll("_", " ");
}
