// Upload: pick or drop a CSV, send it (with the transfer's own progress), then follow the job's
// SSE stream: phase, percent, rows, counts, rate and ETA. A reload re-attaches to a running job.

import { ApiError, get, post } from "./api.js";
import { bytes, clear, dateTime, duration, h, icon, num, timeAgo } from "./dom.js";
import { badge, emptyState, setBusy, toast, toastError } from "./ui.js";

const ACTIVE_KEY = "fulfil.import.job";
const FINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);
const HISTORY_SIZE = 8;
const ANNOUNCE_EVERY_MS = 5000;

const STATUS = {
  queued: ["Queued", "neutral"],
  running: ["Running", "info"],
  completed: ["Completed", "success"],
  completed_with_errors: ["Completed with rejects", "warning"],
  failed: ["Failed", "danger"],
  cancelled: ["Cancelled", "neutral"],
};

function statusBadge(status) {
  const [text, tone] = STATUS[status] || [status, "neutral"];
  return badge(text, tone);
}

function percentOf(snap) {
  if (snap.status === "completed" || snap.status === "completed_with_errors") return 100;
  if (snap.rows_total) return Math.min(100, (100 * snap.rows_done) / snap.rows_total);
  if (snap.bytes_total) return Math.min(100, (100 * snap.bytes_done) / snap.bytes_total);
  return 0;
}

function elapsed(snap) {
  if (!snap.started_at) return null;
  const end = snap.finished_at ? new Date(snap.finished_at) : new Date();
  return (end - new Date(snap.started_at)) / 1000;
}

const rejectsUrl = (jobId) => `/api/upload/${encodeURIComponent(jobId)}/rejects`;

export function mountUpload(card, historyCard) {
  let file = null;
  let xhr = null;
  let source = null;
  let jobId = null;
  let lastAnnounce = 0;
  let lastStatus = null;
  let lastVersion = -1;
  let finished = false;

  const fileInput = h("input", {
    type: "file",
    id: "csv-file",
    name: "file",
    accept: ".csv,.tsv,.txt,text/csv,text/plain",
    class: "visually-hidden",
    onchange: () => choose(fileInput.files[0] || null),
  });
  const body = h("div", { class: "upload__body" });
  const live = h("p", { class: "visually-hidden", "aria-live": "polite", id: "import-announcer" });
  clear(
    card,
    h(
      "div",
      { class: "card__head" },
      h(
        "div",
        {},
        h("h2", { class: "card__title" }, "Upload CSV"),
        h("p", { class: "card__sub" }, "Up to 500,000 rows; progress updates live."),
      ),
    ),
    body,
    live,
  );

  function announce(text, force = false) {
    const now = Date.now();
    if (!force && now - lastAnnounce < ANNOUNCE_EVERY_MS) return;
    lastAnnounce = now;
    live.textContent = text;
  }

  // Picking a file ------------------------------------------------------------------------

  function showPicker(message = null) {
    const drop = h(
      "div",
      { class: "dropzone", "data-testid": "dropzone" },
      icon("upload", { size: 28 }),
      h("p", { class: "dropzone__title" }, "Drag a CSV file here"),
      h("p", { class: "muted" }, "or"),
      fileInput,
      h("label", { for: "csv-file", class: "btn" }, icon("file"), "Choose file"),
      h("p", { class: "dropzone__hint" }, "Columns: name, sku, description (optional), active (optional)."),
    );
    for (const type of ["dragenter", "dragover"]) {
      drop.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add("dropzone--over");
      });
    }
    for (const type of ["dragleave", "dragend"])
      drop.addEventListener(type, () => drop.classList.remove("dropzone--over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("dropzone--over");
      const dropped = event.dataTransfer?.files[0];
      if (dropped) choose(dropped);
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
          h(
            "button",
            { type: "button", class: "icon-btn", "aria-label": `Remove ${file.name}`, onclick: () => choose(null) },
            icon("x"),
          ),
        )
      : null;
    const start = h(
      "button",
      {
        type: "button",
        class: "btn btn--primary btn--block",
        id: "upload-start",
        disabled: !file,
        onclick: () => upload(),
      },
      icon("upload"),
      "Upload CSV",
    );
    clear(body, message, drop, selected, start);
  }

  function choose(picked) {
    file = picked;
    fileInput.value = "";
    if (file && file.size === 0) {
      file = null;
      showPicker(notice("danger", `That file is empty. Choose a CSV with a header line and at least one row.`));
      return;
    }
    showPicker();
    if (file) document.getElementById("upload-start").focus();
  }

  // Progress panel --------------------------------------------------------------------------

  const stat = (label, key) => h("div", { class: "stat" }, h("dt", {}, label), h("dd", { "data-stat": key }, "–"));
  let panel = null;

  function buildPanel(title) {
    const bar = h("div", { class: "progress__fill" });
    const cancel = h(
      "button",
      { type: "button", class: "btn btn--small", id: "upload-cancel", onclick: () => cancelJob() },
      icon("stop", { size: 16 }),
      "Cancel",
    );
    panel = {
      root: h(
        "div",
        { class: "progress-panel", "data-testid": "import-progress" },
        h(
          "div",
          { class: "progress-panel__head" },
          h("div", { class: "progress-panel__file" }, icon("file"), h("strong", { class: "truncate" }, title)),
          h("span", { "data-slot": "status" }),
        ),
        h(
          "div",
          { class: "progress-panel__line" },
          h("span", { class: "progress-panel__phase", "data-slot": "phase" }, "Starting"),
          h("span", { class: "progress-panel__pct", "data-slot": "percent" }, "0%"),
        ),
        h(
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
        ),
        h("p", { class: "progress-panel__rows", "data-slot": "rows" }, "\u00a0"),
        h(
          "dl",
          { class: "stats" },
          stat("Created", "created"),
          stat("Updated", "updated"),
          stat("Unchanged", "unchanged"),
          stat("Rejected", "rejected"),
          stat("Rows/s", "rate"),
          stat("ETA", "eta"),
        ),
        h("div", { class: "progress-panel__foot", "data-slot": "foot" }, cancel),
      ),
      bar,
      cancel,
    };
    clear(body, panel.root);
    return panel;
  }

  const slot = (name) => panel.root.querySelector(`[data-slot="${name}"]`);
  const setStat = (name, value) => {
    panel.root.querySelector(`[data-stat="${name}"]`).textContent = value;
  };

  function render(snap) {
    // The SSE stream and the cancel reply can cross: never let an older snapshot win.
    if (finished) return;
    if (typeof snap.version === "number") {
      if (snap.version < lastVersion) return;
      lastVersion = snap.version;
    }
    if (!panel) buildPanel(snap.filename || "Import");
    const pct = percentOf(snap);
    const rounded = Math.floor(pct);
    panel.bar.style.width = `${pct}%`;
    panel.bar.dataset.status = snap.status;
    const progress = panel.root.querySelector("[role=progressbar]");
    progress.setAttribute("aria-valuenow", String(rounded));
    progress.setAttribute("aria-valuetext", `${rounded}% – ${snap.phase || snap.status}`);
    clear(slot("status"), statusBadge(snap.status));
    slot("phase").textContent = phaseText(snap);
    slot("percent").textContent = `${rounded}%`;
    slot("rows").textContent =
      snap.rows_total != null
        ? `${num(snap.rows_done)} of ${num(snap.rows_total)} rows`
        : `${num(snap.rows_done)} rows · ${bytes(snap.bytes_done)} of ${bytes(snap.bytes_total)} read`;
    setStat("created", num(snap.created));
    setStat("updated", num(snap.updated));
    setStat("unchanged", num(snap.unchanged));
    setStat("rejected", num(snap.rejected));
    setStat("rate", snap.rows_per_second != null ? num(Math.round(snap.rows_per_second)) : "–");
    setStat("eta", FINAL.has(snap.status) ? "–" : duration(snap.eta_seconds));
    const changed = snap.status !== lastStatus;
    lastStatus = snap.status;
    if (changed && snap.job_id && !FINAL.has(snap.status)) window.dispatchEvent(new CustomEvent("imports:changed"));
    announce(`${phaseText(snap)}: ${rounded} percent, ${num(snap.rows_done)} rows done.`, changed);
    if (FINAL.has(snap.status)) finish(snap);
  }

  function phaseText(snap) {
    const phase = snap.phase || snap.status;
    return phase.charAt(0).toUpperCase() + phase.slice(1).replaceAll("_", " ");
  }

  function finish(snap) {
    finished = true;
    stopStream();
    localStorage.removeItem(ACTIVE_KEY);
    const foot = slot("foot");
    const again = h(
      "button",
      { type: "button", class: "btn", onclick: () => reset() },
      icon("upload"),
      "Import another file",
    );
    const took = duration(elapsed(snap));
    let message;
    if (snap.status === "completed" || snap.status === "completed_with_errors") {
      const summary = `${num(snap.rows_done)} rows in ${took}: ${num(snap.created)} created, ${num(snap.updated)} updated, ${num(snap.unchanged)} unchanged, ${num(snap.rejected)} rejected.`;
      message = notice(
        snap.rejected ? "warning" : "success",
        h("strong", {}, snap.rejected ? "Import finished with rejected rows. " : "Import complete. "),
        summary,
        snap.rejected
          ? h(
              "a",
              { href: rejectsUrl(snap.job_id), class: "link", download: "", "data-testid": "rejects-link" },
              icon("download", { size: 16 }),
              ` Download the ${num(snap.rejected)} rejected rows (CSV)`,
            )
          : null,
      );
      toast(
        snap.rejected
          ? `Import finished: ${num(snap.rejected)} rows rejected.`
          : `Import complete: ${num(snap.rows_done)} rows.`,
        snap.rejected ? "info" : "success",
      );
    } else if (snap.status === "failed") {
      const retry = file
        ? h(
            "button",
            { type: "button", class: "btn btn--primary", onclick: () => upload() },
            icon("refresh"),
            "Try again",
          )
        : h(
            "button",
            { type: "button", class: "btn btn--primary", onclick: () => reset() },
            icon("refresh"),
            "Try again",
          );
      message = notice("danger", h("strong", {}, "The import failed. "), snap.error || "No reason was given.");
      clear(foot, retry, again);
      foot.before(message);
      announce(`Import failed: ${snap.error || ""}`, true);
      toast("The import failed.", "error");
      window.dispatchEvent(new CustomEvent("imports:changed"));
      window.dispatchEvent(new CustomEvent("products:changed"));
      return;
    } else {
      message = notice(
        "neutral",
        h("strong", {}, "Import cancelled. "),
        `${num(snap.rows_done)} rows were processed; what was committed stays.`,
      );
    }
    clear(foot, again);
    foot.before(message);
    announce(message.textContent, true);
    window.dispatchEvent(new CustomEvent("imports:changed"));
    window.dispatchEvent(new CustomEvent("products:changed"));
  }

  function startOver() {
    panel = null;
    lastStatus = null;
    lastVersion = -1;
    finished = false;
  }

  function reset() {
    stopStream();
    startOver();
    jobId = null;
    file = null;
    showPicker();
    fileInput.focus();
  }

  // Sending the file and following the job --------------------------------------------------

  function upload() {
    if (!file) return;
    const sending = file;
    stopStream();
    startOver();
    buildPanel(sending.name);
    render({
      status: "queued",
      phase: "uploading",
      bytes_total: sending.size,
      bytes_done: 0,
      rows_done: 0,
      rows_total: null,
      filename: sending.name,
    });
    panel.cancel.onclick = () => xhr?.abort();
    const form = new FormData();
    form.append("file", sending, sending.name);
    xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      render({
        status: "queued",
        phase: "uploading",
        bytes_total: event.total,
        bytes_done: event.loaded,
        rows_done: 0,
        rows_total: null,
      });
    };
    xhr.onload = () => {
      const status = xhr.status;
      const reply = parseJson(xhr.responseText);
      xhr = null;
      if (status >= 200 && status < 300 && reply?.job_id) {
        panel.cancel.onclick = () => cancelJob();
        follow(reply.job_id, reply.stream_url);
        window.dispatchEvent(new CustomEvent("imports:changed"));
      } else {
        failUpload(reply?.error?.message || `The server answered ${status}.`);
      }
    };
    xhr.onerror = () => {
      xhr = null;
      failUpload("The upload did not reach the server. Check your connection and try again.");
    };
    xhr.onabort = () => {
      xhr = null;
      panel = null;
      showPicker(notice("neutral", "Upload cancelled before the import started."));
    };
    xhr.send(form);
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function failUpload(message) {
    render({
      status: "failed",
      phase: "upload failed",
      bytes_total: 0,
      bytes_done: 0,
      rows_done: 0,
      rows_total: null,
      error: message,
    });
  }

  function follow(id, streamUrl = null) {
    stopStream();
    jobId = id;
    localStorage.setItem(ACTIVE_KEY, id);
    source = new EventSource(streamUrl || `/api/upload/${encodeURIComponent(id)}/stream`);
    const onSnapshot = (event) => {
      const snap = parseJson(event.data);
      if (snap?.job_id) render(snap);
    };
    source.onmessage = onSnapshot;
    for (const name of ["progress", "snapshot", "status"]) source.addEventListener(name, onSnapshot);
    source.onerror = () => {
      // The browser reconnects by itself (with Last-Event-ID); only a closed stream needs us.
      if (!source) return;
      if (source.readyState === EventSource.CLOSED) pollOnce(id);
      else if (panel && !finished) slot("phase").textContent = "Reconnecting…";
    };
  }

  async function pollOnce(id) {
    stopStream();
    try {
      const snap = await get(`/api/upload/${encodeURIComponent(id)}/progress`);
      render(snap);
      if (!FINAL.has(snap.status)) setTimeout(() => jobId === id && follow(id), 2000);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        localStorage.removeItem(ACTIVE_KEY);
        reset();
      } else {
        setTimeout(() => jobId === id && pollOnce(id), 3000);
      }
    }
  }

  function stopStream() {
    if (source) source.close();
    source = null;
  }

  async function cancelJob() {
    if (!jobId) return;
    setBusy(panel.cancel, true);
    try {
      const snap = await post(`/api/upload/${encodeURIComponent(jobId)}/cancel`);
      if (snap?.job_id) render(snap);
      if (!finished) slot("phase").textContent = "Cancelling after the current batch";
    } catch (error) {
      setBusy(panel.cancel, false);
      toastError(error, "Could not cancel");
    }
  }

  /** After a reload: the job this browser started, else the newest running one on the server. */
  async function reattach() {
    const saved = localStorage.getItem(ACTIVE_KEY);
    if (saved) {
      try {
        const snap = await get(`/api/upload/${encodeURIComponent(saved)}/progress`);
        if (!FINAL.has(snap.status)) {
          render(snap);
          follow(saved);
          return;
        }
      } catch {
        // Gone or unreachable: fall through to the server's list.
      }
      localStorage.removeItem(ACTIVE_KEY);
    }
    try {
      const running = (await historyView.loaded).find((job) => !FINAL.has(job.status));
      if (running) {
        render(running);
        follow(running.job_id || running.id);
      }
    } catch {
      // The history card shows its own error.
    }
  }

  const historyView = mountHistory(
    historyCard,
    () => (finished ? null : jobId),
    (job) => {
      if ((jobId && !finished) || xhr) return;
      stopStream();
      startOver();
      render(job);
      follow(job.job_id || job.id);
    },
  );
  showPicker();
  reattach();
}

function notice(tone, ...children) {
  return h("div", { class: `notice notice--${tone}`, role: tone === "danger" ? "alert" : null }, ...children);
}

// Import history ------------------------------------------------------------------------------

function mountHistory(card, trackedId, onWatch) {
  const tbody = h("tbody");
  const state = h("div", { class: "table-state" });
  const refresh = h(
    "button",
    { type: "button", class: "icon-btn", "aria-label": "Refresh import history", onclick: () => load() },
    icon("refresh"),
  );
  clear(
    card,
    h(
      "div",
      { class: "card__head" },
      h(
        "div",
        {},
        h("h2", { class: "card__title" }, "Import history"),
        h("p", { class: "card__sub" }, "Recent imports, newest first."),
      ),
      refresh,
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table table--compact table--stack table--history", "data-testid": "import-history" },
        h("caption", { class: "visually-hidden" }, "Recent imports"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["File", "Status", "Created", "Updated", "Unchanged", "Rejected"].map((label, i) =>
              h("th", { scope: "col", class: i > 1 ? "num" : null }, label),
            ),
          ),
        ),
        tbody,
      ),
    ),
    state,
  );

  async function load() {
    let jobs = [];
    try {
      const reply = await get("/api/uploads", { page_size: HISTORY_SIZE });
      jobs = Array.isArray(reply) ? reply : reply.items || [];
    } catch (error) {
      clear(tbody);
      clear(state, h("p", { class: "muted" }, `Could not load the history: ${error.message}`));
      throw error;
    }
    clear(
      tbody,
      jobs.slice(0, HISTORY_SIZE).map((job) => row(job)),
    );
    clear(state, jobs.length ? null : emptyState("No imports yet", "Upload a CSV to see it here."));
    return jobs;
  }

  function row(job) {
    const id = job.job_id || job.id;
    const cell = (label, value) => h("td", { class: "num cell-count", "data-label": label }, value);
    const running = !FINAL.has(job.status);
    return h(
      "tr",
      {},
      h(
        "td",
        { class: "cell-file", "data-label": "File" },
        h(
          "div",
          { class: "cell-stack" },
          h(
            "span",
            {
              class: "truncate cell-file__name",
              title: `${job.filename || id}, started ${dateTime(job.started_at || job.created_at)}`,
            },
            job.filename || id,
          ),
          h(
            "span",
            { class: "cell-sub" },
            job.started_at || job.created_at ? timeAgo(job.started_at || job.created_at) : null,
            job.started_at && !running ? ` · took ${duration(elapsed(job))}` : null,
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
            job.rejected && !running
              ? h(
                  "a",
                  {
                    href: rejectsUrl(id),
                    class: "link link--small",
                    download: "",
                    title: `Rejected rows of ${job.filename || id}`,
                  },
                  "rejects",
                )
              : null,
            running && trackedId() !== id
              ? h("button", { type: "button", class: "link link--small", onclick: () => onWatch(job) }, "watch")
              : null,
          ),
          job.status === "failed" && job.error
            ? h("span", { class: "cell-sub cell-error", title: job.error }, job.error)
            : null,
        ),
      ),
      cell("Created", num(job.created)),
      cell("Updated", num(job.updated)),
      cell("Unchanged", num(job.unchanged)),
      cell("Rejected", num(job.rejected)),
    );
  }

  window.addEventListener("imports:changed", () => load().catch(() => {}));
  const loaded = load();
  loaded.catch(() => {});
  return { load, loaded };
}
