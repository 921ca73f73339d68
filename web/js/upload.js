// The upload card: pick or drop a CSV, send it (with the transfer's own progress) as an import or
// as a preview, then follow the job's SSE stream: phase, percent, rows, counts, rate and ETA. A
// finished preview shows what its import would change, to import or discard; a header without sku
// or name shows a mapping form that sends the file again with it. A reload re-attaches to a running job.
//
// The card is a small state machine: one `state`, changed only by `go`, along the moves in MOVES.
//   picking    choosing a file
//   uploading  the file on its way to the server; Cancel aborts the transfer
//   following  the server's job, followed through its stream; Cancel asks it to stop
//   finished   the job (or the transfer) ended: its outcome, and what can be done next
// Each state has one view in `enter`, which draws the card as the state is entered.

import { ApiError, csrfToken, get, parseJson, post, replyError, signIn } from "./api.js";
import { mappingForm } from "./column-mapping.js";
import { clear, duration, h, icon, num } from "./dom.js";
import { filePicker } from "./file-picker.js";
import { mountHistory } from "./import-history.js";
import { elapsed, FINAL, jobUrl, percentOf, phaseText } from "./import-job.js";
import { previewResult } from "./import-preview.js";
import { progressPanel } from "./progress-panel.js";
import { cardHead, notice, setBusy, toast, toastError } from "./ui.js";

const ACTIVE_KEY = "fulfil.import.job";
const ANNOUNCE_EVERY_MS = 5000;
const RELISTEN_MS = 2000;
const REPOLL_MS = 3000;

const MOVES = {
  picking: ["picking", "uploading", "following"],
  uploading: ["picking", "following", "finished"],
  following: ["picking", "finished"],
  finished: ["picking", "uploading", "following"],
};

/** A snapshot for the panel while the server has no job yet: only the bytes sent count. */
function sendingSnapshot(status, phase, bytesDone, bytesTotal, error = null) {
  return {
    status,
    phase,
    bytes_done: bytesDone,
    bytes_total: bytesTotal,
    rows_done: 0,
    rows_total: null,
    created: null,
    updated: null,
    unchanged: null,
    rejected: null,
    rows_per_second: null,
    eta_seconds: null,
    error,
  };
}

const tell = (name) => window.dispatchEvent(new CustomEvent(name));

function outcome(snap) {
  if (snap.status === "cancelled") {
    return notice(
      "neutral",
      h("strong", {}, "Import cancelled. "),
      `${num(snap.rows_done)} rows were processed; what was committed stays.`,
    );
  }
  const counts = [
    `${num(snap.created)} created`,
    `${num(snap.updated)} updated`,
    `${num(snap.unchanged)} unchanged`,
    `${num(snap.rejected)} rejected`,
  ];
  if (snap.skipped) counts.push(`${num(snap.skipped)} skipped`);
  if (snap.duplicates_in_file) counts.push(`${num(snap.duplicates_in_file)} overridden later in the file`);
  return notice(
    snap.rejected ? "warning" : "success",
    h("strong", {}, snap.rejected ? "Import finished with rejected rows. " : "Import complete. "),
    `${num(snap.rows_done)} rows in ${duration(elapsed(snap))}: ${counts.join(", ")}.`,
    snap.rejected
      ? h(
          "a",
          { href: jobUrl(snap.job_id, "rejects"), class: "link", download: "", "data-testid": "rejects-link" },
          icon("download", { size: 16 }),
          ` Download the ${num(snap.rejected)} rejected rows (CSV)`,
        )
      : null,
  );
}

export function mountUpload(card, historyCard) {
  let state = "picking";
  let file = null; // chosen in picking; kept while it is sent, and after, for a mapping
  let mode = "upsert"; // the mode last chosen
  let profile = ""; // the saved mapping last chosen
  let profiles = []; // the saved mappings' names
  let picker = null; // picking
  let panel = null; // uploading, following, finished
  let xhr = null; // uploading
  let job = null; // following: { id, source, version }
  let shownStatus = null;
  let lastAnnounce = 0;

  const body = h("div", { class: "upload__body" });
  const live = h("p", { class: "visually-hidden", "aria-live": "polite", id: "import-announcer" });
  clear(card, cardHead({ title: "Upload CSV", sub: "Up to 500,000 rows; progress updates live." }), body, live);

  function go(next, ...args) {
    if (!MOVES[state].includes(next)) throw new Error(`The upload card cannot go from ${state} to ${next}.`);
    const from = state;
    if (from === "following") stopFollowing();
    state = next;
    enter[next](from, ...args);
  }

  const enter = {
    picking(_from, message = null) {
      panel = null;
      picker = filePicker(file, message, {
        onChoose: choose,
        onStart: (options) => go("uploading", options),
        mode,
        profiles,
        profile,
      });
      clear(body, picker.nodes);
    },

    /** `options`: the mode, whether it is a preview (`dryRun`) and a column mapping, if any. */
    uploading(_from, options) {
      const sending = file;
      mode = options.mode;
      profile = options.profile ?? "";
      newPanel(sending.name);
      showProgress(sendingSnapshot("queued", "uploading", 0, sending.size));
      const form = new FormData();
      form.append("mode", options.mode);
      if (options.dryRun) form.append("dry_run", "true");
      if (options.mapping) form.append("mapping", JSON.stringify(options.mapping));
      else if (options.profile) form.append("profile", options.profile);
      form.append("file", sending, sending.name);
      xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/upload");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) showProgress(sendingSnapshot("queued", "uploading", event.loaded, event.total));
      };
      xhr.onload = () => {
        const sent = xhr;
        xhr = null;
        if (sent.status >= 200 && sent.status < 300) {
          go("following", parseJson(sent.responseText).job_id);
          tell("imports:changed");
        } else {
          if (sent.status === 401) signIn();
          const error = replyError(sent.status, sent.statusText, sent.responseText);
          go("finished", sendingSnapshot("failed", "upload failed", 0, 0, error.message));
        }
      };
      xhr.onerror = () => {
        xhr = null;
        const message = "The upload did not reach the server. Check your connection and try again.";
        go("finished", sendingSnapshot("failed", "upload failed", 0, 0, message));
      };
      xhr.onabort = () => {
        xhr = null;
        go("picking", notice("neutral", "Upload cancelled before the import started."));
      };
      xhr.send(form);
    },

    /** `snapshot` is the job's latest known state; a job this card has just sent has none yet. */
    following(from, jobId, snapshot = null) {
      if (from !== "uploading") newPanel(snapshot.filename);
      job = { id: jobId, source: null, version: -1 };
      localStorage.setItem(ACTIVE_KEY, jobId);
      const current = job;
      if (snapshot) receive(current, snapshot);
      if (job === current) listen(current);
    },

    finished(_from, snap) {
      panel.show(snap);
      const again = h(
        "button",
        { type: "button", class: "btn", onclick: startOver },
        icon("upload"),
        "Import another file",
      );
      if (snap.status === "failed") {
        const retry = h(
          "button",
          { type: "button", class: "btn btn--primary", onclick: tryAgain },
          icon("refresh"),
          "Try again",
        );
        const failure = notice("danger", h("strong", {}, "The import failed. "), snap.error);
        // A header without the columns needed: map them, and send the same file again.
        const mapping =
          file && snap.sample_rows && snap.columns
            ? mappingForm(snap, {
                onSubmit: (chosen) => {
                  loadProfiles();
                  go("uploading", { mode, ...chosen });
                },
              })
            : null;
        panel.end(mapping ? h("div", { class: "upload__failure" }, failure, mapping) : failure, retry, again);
        announce(`Import failed: ${snap.error}`, true);
        toast("The import failed.", "error");
      } else if (snap.dry_run && snap.status !== "cancelled") {
        const shown = previewResult(snap, {
          onConfirm: () => confirmPreview(snap, shown.confirm),
          onDiscard: startOver,
        });
        panel.end(
          h("div", { class: "upload__preview", "data-testid": "preview-result" }, ...shown.nodes),
          ...shown.actions,
        );
        announce(shown.nodes[0].textContent, true);
      } else {
        const message = outcome(snap);
        panel.end(message, again);
        announce(message.textContent, true);
        if (snap.status !== "cancelled") {
          toast(
            snap.rejected
              ? `Import finished: ${num(snap.rejected)} rows rejected.`
              : `Import complete: ${num(snap.rows_done)} rows.`,
            snap.rejected ? "info" : "success",
          );
        }
      }
      tell("imports:changed");
      tell("products:changed");
    },
  };

  // Actions -----------------------------------------------------------------------------------

  function choose(picked) {
    if (picked && picked.size === 0) {
      file = null;
      go("picking", notice("danger", "That file is empty. Choose a CSV with a header line and at least one row."));
      return;
    }
    file = picked;
    go("picking");
    if (file) picker.start.focus();
  }

  function startOver() {
    file = null;
    go("picking");
    picker.input.focus();
  }

  /** After a failure the same file would fail again: ask for a corrected one. */
  function tryAgain() {
    file = null;
    go("picking", notice("neutral", "Choose the corrected file to try again."));
    picker.input.focus();
  }

  /** Import what the preview showed: the server's stored file, with the preview's mode and mapping. */
  async function confirmPreview(snap, button) {
    setBusy(button, true);
    try {
      const accepted = await post(jobUrl(snap.job_id, "confirm"));
      go("following", accepted.job_id, await get(accepted.progress_url));
      tell("imports:changed");
    } catch (error) {
      setBusy(button, false);
      toastError(error, "Could not import");
    }
  }

  function cancel() {
    if (state === "uploading") xhr.abort();
    else if (state === "following") cancelJob();
  }

  async function cancelJob() {
    const current = job;
    setBusy(panel.cancel, true);
    try {
      receive(current, await post(jobUrl(current.id, "cancel")));
      if (job === current) panel.setPhase("Cancelling after the current batch");
    } catch (error) {
      if (job === current) setBusy(panel.cancel, false);
      toastError(error, "Could not cancel");
    }
  }

  /** Follow a job this card did not send (after a reload, or the history's "watch"). */
  function watch(snap) {
    if (state === "picking" || state === "finished") go("following", snap.job_id, snap);
  }

  // The panel and the screen reader's line ------------------------------------------------------

  function newPanel(title) {
    panel = progressPanel(title, cancel);
    shownStatus = null;
    clear(body, panel.root);
  }

  /** Draw a snapshot; true when its status differs from the one shown before. */
  function showProgress(snap) {
    const changed = snap.status !== shownStatus;
    shownStatus = snap.status;
    panel.show(snap);
    announce(`${phaseText(snap)}: ${Math.floor(percentOf(snap))} percent, ${num(snap.rows_done)} rows done.`, changed);
    return changed;
  }

  function announce(text, force = false) {
    const now = Date.now();
    if (!force && now - lastAnnounce < ANNOUNCE_EVERY_MS) return;
    lastAnnounce = now;
    live.textContent = text;
  }

  // Following a job: `current` is the job being followed when a stream, poll or reply began; once
  // the card has moved on (`job !== current`), what arrives for it is dropped. ------------------

  /** A snapshot from the stream, a poll or the cancel reply; these can cross, so the newest wins. */
  function receive(current, snap) {
    if (job !== current || snap.version < current.version) return;
    current.version = snap.version;
    const changed = showProgress(snap);
    if (FINAL.has(snap.status)) go("finished", snap);
    else if (changed) tell("imports:changed");
  }

  function listen(current) {
    const source = new EventSource(jobUrl(current.id, "stream"));
    current.source = source;
    source.onmessage = (event) => receive(current, JSON.parse(event.data));
    source.onerror = () => {
      // The browser reconnects by itself (with Last-Event-ID); only a closed stream needs us.
      if (job !== current) return;
      if (source.readyState === EventSource.CLOSED) poll(current);
      else panel.setPhase("Reconnecting…");
    };
  }

  async function poll(current) {
    closeStream(current);
    try {
      receive(current, await get(jobUrl(current.id, "progress")));
      setTimeout(() => job === current && listen(current), RELISTEN_MS);
    } catch (error) {
      if (job !== current) return;
      if (error instanceof ApiError && error.status === 404) startOver();
      else setTimeout(() => job === current && poll(current), REPOLL_MS);
    }
  }

  function closeStream(current) {
    if (current.source) current.source.close();
    current.source = null;
  }

  function stopFollowing() {
    closeStream(job);
    job = null;
    localStorage.removeItem(ACTIVE_KEY);
  }

  /** After a reload: the job this browser started, else the newest running one on the server. */
  async function reattach() {
    const saved = localStorage.getItem(ACTIVE_KEY);
    if (saved) {
      try {
        const snap = await get(jobUrl(saved, "progress"));
        if (!FINAL.has(snap.status)) {
          watch(snap);
          return;
        }
      } catch {
        // Gone or unreachable: fall through to the server's list.
      }
      localStorage.removeItem(ACTIVE_KEY);
    }
    try {
      const running = (await history.loaded).find((snap) => !FINAL.has(snap.status));
      if (running) watch(running);
    } catch {
      // The history card shows its own error.
    }
  }

  /** The saved mappings' names, for the picker's "Columns" select (shown once there are some). */
  async function loadProfiles() {
    try {
      profiles = (await get("/api/import-profiles")).profiles.map((p) => p.name);
    } catch {
      profiles = []; // the picker works without them
    }
    if (state === "picking" && profiles.length && !document.getElementById("import-profile")) go("picking");
  }

  const history = mountHistory(historyCard, { trackedId: () => job?.id ?? null, onWatch: watch });
  go("picking");
  loadProfiles();
  reattach();
}
