// Webhooks: the list with an enabled switch, the last delivery and the last day's stats, create
// and edit in a modal (secret write-only), the test with its code and time, the deliveries with
// resend, secret rotation (the new secret shown once), recover (the count shown first) and a
// banner for each webhook the service disabled, with "Recover and enable". The list and an open
// deliveries dialog follow the server while on screen (LIVE_MS), so a delivery, a retry's next
// attempt and new attempts show without a reload.

import { ApiError, del, get, post, put } from "./api.js";
import { clear, dateTime, h, icon, num, timeAgo } from "./dom.js";
import {
  badge,
  cardHead,
  clearErrors,
  confirmDialog,
  dataTable,
  emptyState,
  formBanner,
  iconButton,
  loadError,
  loadingState,
  notice,
  openModal,
  replaceRows,
  sentence,
  setBusy,
  showErrors,
  switchControl,
  textField,
  toast,
  toastError,
} from "./ui.js";

const EVENT_TYPES = [
  ["product.created", "A product is created"],
  ["product.updated", "A product is changed"],
  ["product.deleted", "A product is deleted"],
  ["product.bulk_deleted", "Products are deleted in bulk (a selection, a filter or all; one event with the count)"],
  ["product.bulk_updated", "Products are set active or inactive in bulk (one event with the count)"],
  ["import.completed", "A CSV import finishes (one event with its counts)"],
  ["import.undone", "An import is undone (one event with its counts)"],
  ["webhook.disabled", "Another webhook is disabled by the service (its deliveries kept failing, or a 410)"],
];
const GRACE_CHOICES = [
  [0, "None: the old secret stops at once"],
  [3600, "1 hour"],
  [86400, "24 hours"],
  [604800, "7 days"],
];
const DELIVERY_TONE = { delivered: "success", failed: "danger", pending: "info" };
const DELIVERIES_PAGE = 20;
const DELIVERIES_MAX = 200; // the API's largest page: "Load more" stops there
const LIVE_MS = 2000;

/** Asks `refresh` again every LIVE_MS while `node` is on screen and the tab is visible; stops once `node` leaves the page. */
function followLive(node, refresh) {
  const timer = setInterval(() => {
    if (!node.isConnected) clearInterval(timer);
    else if (!document.hidden && node.getClientRects().length) refresh();
  }, LIVE_MS);
}

/** What a delivery was about, in a few words, by its event type (a test event is about nothing). */
const SUBJECTS = {
  "product.created": (data) => data.sku,
  "product.updated": (data) => data.sku,
  "product.deleted": (data) => data.sku,
  "product.bulk_deleted": (data) => `${num(data.count)} products`,
  "product.bulk_updated": (data) => `${num(data.count)} products`,
  "import.completed": (data) => data.filename,
  "import.undone": (data) => `${num(data.restored)} restored, ${num(data.deleted)} deleted`,
  "webhook.disabled": (data) => data.url,
};

function subject(delivery) {
  const describe = SUBJECTS[delivery.event_type];
  return describe ? describe(delivery.payload.data) : null;
}

const milliseconds = (value) => `${num(Math.round(value))} ms`;

/** The last day of a webhook in a line: success rate, p50/p95 response time, failures. */
function statsLine(stats) {
  if (stats.success_rate === null) return "24 h: no deliveries";
  const parts = [`24 h: ${Math.round(stats.success_rate * 1000) / 10}% delivered`];
  if (stats.p50_ms !== null) parts.push(`p50 ${milliseconds(stats.p50_ms)}`, `p95 ${milliseconds(stats.p95_ms)}`);
  parts.push(`${num(stats.failed)} failed`);
  return parts.join(" · ");
}

/** A datetime-local input's value (the browser's time zone) as ISO 8601 with its offset. */
function isoFromLocal(value) {
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? value : when.toISOString();
}

/** An ISO time as a datetime-local input's value, in the browser's time zone. */
function localInput(iso) {
  const when = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

function testSummary(result) {
  const code = result.status_code === null ? "no response" : String(result.status_code);
  return `${code} · ${milliseconds(result.duration_ms)}`;
}

export function mountWebhooks(card) {
  const testResults = new Map();
  const { wrap, tbody, state } = dataTable({
    className: "table--stack table--webhooks",
    caption: "Webhooks",
    columns: [
      "Endpoint",
      "Events",
      "Enabled",
      "Last delivery",
      { label: "Actions", className: "col-actions", hidden: true },
    ],
    attrs: { "data-testid": "webhooks-table" },
    loading: "webhooks",
  });
  const createButton = h(
    "button",
    { type: "button", class: "btn btn--primary", onclick: () => editWebhook(null) },
    icon("plus"),
    "New webhook",
  );

  const banners = h("div", { class: "webhook-banners", "data-testid": "webhook-banners" });

  clear(
    card,
    cardHead({
      title: "Webhooks",
      titleId: "webhooks-title",
      large: true,
      sub: "Signed POST requests to your endpoints when products change or an import finishes.",
      aside: h("div", { class: "card__actions" }, createButton),
    }),
    banners,
    wrap,
    state,
  );

  let shown = null; // the list as last drawn: an unchanged poll redraws nothing

  async function load() {
    try {
      const reply = await get("/api/webhooks", { page_size: 100 });
      const hooks = reply.items;
      const drawn = JSON.stringify(hooks);
      if (drawn === shown) return;
      shown = drawn;
      replaceRows(
        tbody,
        hooks.map((hook) => row(hook)),
      );
      clear(
        banners,
        hooks.filter((hook) => !hook.enabled && hook.disabled_at).map((hook) => disabledBanner(hook)),
      );
      clear(
        state,
        hooks.length
          ? null
          : emptyState(
              "No webhooks yet",
              "Add an endpoint to be told about product changes.",
              h(
                "button",
                { type: "button", class: "btn btn--primary", onclick: () => editWebhook(null) },
                icon("plus"),
                "New webhook",
              ),
            ),
      );
    } catch (error) {
      clear(state, loadError("webhooks", error));
    }
  }

  /** A webhook the service disabled: why and when, and the way back. */
  function disabledBanner(hook) {
    return notice(
      "warning",
      h("strong", {}, `Disabled: ${hook.url}`),
      h(
        "span",
        {},
        sentence(hook.disabled_reason ?? "disabled"),
        " ",
        h("time", { datetime: hook.disabled_at }, `(${timeAgo(hook.disabled_at)})`),
      ),
      h(
        "div",
        {},
        h(
          "button",
          {
            type: "button",
            class: "btn btn--small btn--primary",
            "aria-label": `Recover and enable ${hook.url}`,
            onclick: () => recover(hook, { enable: true }),
          },
          icon("refresh", { size: 16 }),
          "Recover and enable",
        ),
      ),
    );
  }

  async function fillStats(hook, slot) {
    try {
      slot.textContent = statsLine(await get(`/api/webhooks/${hook.id}/stats`));
    } catch {
      slot.textContent = "";
    }
  }

  function row(hook) {
    const enabled = switchControl({
      label: h("span", { class: "visually-hidden" }, `Enabled: ${hook.url}`),
      name: "enabled",
      checked: hook.enabled,
      onchange: () => toggle(hook, enabled.input),
    });
    const result = testResults.get(hook.id);
    const testButton = h(
      "button",
      {
        type: "button",
        class: "btn btn--small",
        "aria-label": `Test ${hook.url}`,
        title: "Send a test event now",
        onclick: () => test(hook, testButton, resultSlot),
      },
      icon("flask", { size: 16 }),
      "Test",
    );
    const resultSlot = h(
      "span",
      { class: "test-result", "aria-live": "polite", "data-testid": "test-result" },
      result ? testResultBadge(result) : null,
    );
    const statsSlot = h("span", { class: "cell-sub", "data-testid": "webhook-stats" });
    fillStats(hook, statsSlot);
    return h(
      "tr",
      { "data-id": hook.id },
      h(
        "td",
        { class: "cell-url", "data-label": "Endpoint" },
        h(
          "div",
          { class: "cell-stack" },
          h("code", { class: "url truncate", title: hook.url }, hook.url),
          h(
            "span",
            { class: "cell-sub" },
            `Timeout ${hook.timeout} s · ${hook.retry_count} ${hook.retry_count === 1 ? "retry" : "retries"}`,
            hook.has_secret ? " · signed" : " · unsigned",
          ),
          hook.disabled_reason ? h("span", { class: "cell-sub cell-error" }, sentence(hook.disabled_reason)) : null,
          statsSlot,
        ),
      ),
      h(
        "td",
        { class: "cell-events", "data-label": "Events" },
        h(
          "div",
          { class: "chips" },
          hook.event_types.map((type) => h("span", { class: "chip" }, type)),
        ),
      ),
      h("td", { class: "cell-enabled", "data-label": "Enabled" }, enabled.wrap),
      h(
        "td",
        { class: "cell-last", "data-label": "Last delivery", "data-testid": "last-delivery" },
        hook.last_delivery_status
          ? h(
              "div",
              { class: "stack-xs" },
              h("span", {}, badge(hook.last_delivery_status, DELIVERY_TONE[hook.last_delivery_status])),
              h("span", { class: "cell-sub" }, timeAgo(hook.last_delivery_at)),
            )
          : h("span", { class: "muted" }, "None yet"),
      ),
      h(
        "td",
        { class: "col-actions", "data-label": "Actions" },
        h(
          "div",
          { class: "row-actions row-actions--wrap" },
          resultSlot,
          testButton,
          h(
            "button",
            { type: "button", class: "btn btn--small", onclick: () => deliveries(hook) },
            icon("list", { size: 16 }),
            "Deliveries",
          ),
          h(
            "button",
            {
              type: "button",
              class: "btn btn--small",
              "aria-label": `Recover ${hook.url}`,
              title: "Deliver again what failed",
              onclick: () => recover(hook, { enable: false }),
            },
            icon("refresh", { size: 16 }),
            "Recover",
          ),
          iconButton({
            icon: "key",
            label: `Rotate the secret of ${hook.url}`,
            title: "Rotate secret",
            onclick: () => rotate(hook),
          }),
          iconButton({ icon: "edit", label: `Edit ${hook.url}`, title: "Edit", onclick: () => editWebhook(hook) }),
          iconButton({
            icon: "trash",
            label: `Delete ${hook.url}`,
            title: "Delete",
            danger: true,
            onclick: () => remove(hook),
          }),
        ),
      ),
    );
  }

  function testResultBadge(result) {
    return badge(testSummary(result), result.ok ? "success" : "danger");
  }

  async function test(hook, button, slot) {
    setBusy(button, true);
    clear(slot, h("span", { class: "muted" }, "Sending…"));
    try {
      const result = await post(`/api/webhooks/${hook.id}/test`);
      testResults.set(hook.id, result);
      shown = null; // the row's badge is part of what is drawn
      clear(slot, testResultBadge(result));
      slot.title = result.error ?? result.response_excerpt;
      toast(
        result.ok ? `Test delivered: ${testSummary(result)}.` : `Test failed: ${result.error ?? testSummary(result)}.`,
        result.ok ? "success" : "error",
      );
      setTimeout(load, 400);
    } catch (error) {
      clear(slot);
      toastError(error, "Test failed");
    } finally {
      setBusy(button, false);
    }
  }

  async function toggle(hook, input) {
    const focused = document.activeElement === input; // disabling it below takes the focus away
    input.disabled = true;
    try {
      const saved = await put(`/api/webhooks/${hook.id}`, { enabled: input.checked });
      hook.enabled = saved.enabled;
      toast(saved.enabled ? "Webhook enabled." : "Webhook paused: it gets no events until enabled again.", "info");
      await load();
      if (focused) tbody.querySelector(`tr[data-id="${hook.id}"] [role=switch]`)?.focus();
    } catch (error) {
      input.checked = !input.checked;
      toastError(error, "Could not change the webhook");
    } finally {
      input.disabled = false;
    }
  }

  async function remove(hook) {
    const ok = await confirmDialog({
      title: "Delete webhook",
      message: `Delete the webhook for ${hook.url}?`,
      detail: "Its delivery log goes with it. This cannot be undone.",
      confirmLabel: "Delete webhook",
    });
    if (!ok) return;
    try {
      await del(`/api/webhooks/${hook.id}`);
      testResults.delete(hook.id);
      toast("Webhook deleted.");
      load();
    } catch (error) {
      toastError(error, "Could not delete the webhook");
    }
  }

  // Rotate and recover ----------------------------------------------------------------------

  function rotate(hook) {
    const grace = h(
      "select",
      { name: "grace_seconds" },
      GRACE_CHOICES.map(([seconds, text]) =>
        h("option", { value: String(seconds), selected: seconds === 86400 }, text),
      ),
    );
    const secret = h("input", { type: "password", name: "secret", autocomplete: "new-password", spellcheck: "false" });
    const result = h("div", { class: "rotated", "data-testid": "rotated-secret" });
    const save = h("button", { type: "submit", class: "btn btn--primary" }, "Rotate secret");
    const close = h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel");
    const modal = openModal({
      title: "Rotate secret",
      description: hook.url,
      size: "md",
      content: [
        formBanner(),
        textField({
          label: "Grace period",
          input: grace,
          hint: "Meanwhile every delivery is signed with both secrets, so the receiver can switch at its pace.",
        }).wrap,
        textField({ label: "New secret", input: secret, hint: "Leave empty to have one generated." }).wrap,
        result,
      ],
      footer: [close, save],
      onSubmit: async (form) => {
        clearErrors(form);
        setBusy(save, true, "Rotating…");
        try {
          const body = { grace_seconds: Number(grace.value) };
          if (secret.value) body.secret = secret.value;
          const rotated = await post(`/api/webhooks/${hook.id}/rotate-secret`, body);
          const shownSecret = h("input", {
            type: "text",
            readonly: true,
            value: rotated.secret,
            "aria-label": "The new secret",
            spellcheck: "false",
          });
          clear(
            result,
            notice(
              "success",
              h("strong", {}, "The new secret, shown this once: copy it to the receiver."),
              shownSecret,
              h(
                "span",
                {},
                rotated.previous_secret_expires_at
                  ? `The old secret signs too until ${dateTime(rotated.previous_secret_expires_at)}.`
                  : "The old secret no longer signs.",
              ),
            ),
          );
          grace.disabled = true;
          secret.disabled = true;
          save.remove();
          close.textContent = "Done";
          shownSecret.focus();
          shownSecret.select();
          load();
        } catch (error) {
          setBusy(save, false, "Rotating…");
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error);
          if (error.status !== 422) toastError(error);
        }
      },
    });
  }

  /** Count the failed deliveries in the window first; only then send them again (enabling the webhook first if asked). */
  function recover(hook, { enable }) {
    const start = enable && hook.failing_since ? hook.failing_since : new Date(Date.now() - 86400000).toISOString();
    const since = h("input", { type: "datetime-local", name: "since", value: localInput(start), step: "60" });
    const until = h("input", { type: "datetime-local", name: "until", step: "60" });
    const count = h("p", { class: "recover-count", "aria-live": "polite", "data-testid": "recover-count" });
    const action = enable ? "Recover and enable" : "Recover";
    const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Count failed deliveries");
    let counted = null; // the window the count is for: changing it asks for a new count
    const windowOf = () => {
      const body = { since: isoFromLocal(since.value) };
      if (until.value) body.until = isoFromLocal(until.value);
      return body;
    };
    const recount = () => {
      counted = null;
      submit.textContent = "Count failed deliveries";
      clear(count);
    };
    since.addEventListener("input", recount);
    until.addEventListener("input", recount);
    const modal = openModal({
      title: action,
      description: hook.url,
      size: "md",
      content: [
        formBanner(),
        textField({ label: "Failed since", input: since, required: true }).wrap,
        textField({ label: "Until", input: until, hint: "Leave empty for up to now." }).wrap,
        count,
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), submit],
      onSubmit: async (form) => {
        clearErrors(form);
        const body = windowOf();
        setBusy(submit, true, counted ? "Queueing…" : "Counting…");
        try {
          if (counted === null) {
            const reply = await post(`/api/webhooks/${hook.id}/recover`, { ...body, dry_run: true });
            counted = reply.matching;
            clear(
              count,
              `${num(counted)} failed ${counted === 1 ? "delivery" : "deliveries"} in this window will be sent again, oldest first.`,
            );
            setBusy(submit, false);
            submit.textContent = enable
              ? `Enable and recover ${num(counted)}`
              : `Recover ${num(counted)} ${counted === 1 ? "delivery" : "deliveries"}`;
            return;
          }
          if (enable) await put(`/api/webhooks/${hook.id}`, { enabled: true });
          const reply = await post(`/api/webhooks/${hook.id}/recover`, body);
          modal.close();
          toast(`${num(reply.queued)} ${reply.queued === 1 ? "delivery" : "deliveries"} queued again.`);
          load();
        } catch (error) {
          setBusy(submit, false, counted === null ? "Counting…" : "Queueing…");
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error);
          if (error.status !== 422) toastError(error);
        }
      },
    });
  }

  // Create and edit -------------------------------------------------------------------------

  function editWebhook(hook) {
    const editing = hook !== null;
    const url = h("input", {
      type: "url",
      name: "url",
      value: editing ? hook.url : "",
      placeholder: "https://example.com/hooks/products",
      autocomplete: "url",
      spellcheck: "false",
    });
    const chosen = new Set(editing ? hook.event_types : ["product.created", "product.updated", "product.deleted"]);
    const events = h(
      "fieldset",
      {
        class: "field fieldset",
        name: "event_types",
        id: "wh-events",
        tabindex: "-1",
        "aria-describedby": "wh-events-error",
      },
      h("legend", { class: "field__label" }, "Events", h("span", { class: "field__req", "aria-hidden": "true" }, " *")),
      h(
        "div",
        { class: "checks" },
        EVENT_TYPES.map(([type, text]) =>
          h(
            "label",
            { class: "check" },
            h("input", { type: "checkbox", name: "event", value: type, checked: chosen.has(type) }),
            h("span", {}, h("code", {}, type), h("span", { class: "check__hint" }, text)),
          ),
        ),
      ),
      h("p", { id: "wh-events-error", class: "field__error", hidden: true }),
    );
    const enabled = switchControl({
      label: "Enabled",
      name: "enabled",
      checked: editing ? hook.enabled : true,
      hint: "Paused webhooks get no events.",
    });
    const secret = h("input", {
      type: "password",
      name: "secret",
      autocomplete: "new-password",
      spellcheck: "false",
      placeholder: editing && hook.has_secret ? "•••••••• (kept)" : "",
    });
    const removeSecret = editing && hook.has_secret ? h("input", { type: "checkbox", name: "remove_secret" }) : null;
    const timeout = h("input", {
      type: "number",
      name: "timeout",
      min: "1",
      max: "300",
      step: "1",
      value: String(editing ? hook.timeout : 30),
      inputmode: "numeric",
    });
    const retries = h("input", {
      type: "number",
      name: "retry_count",
      min: "0",
      max: "20",
      step: "1",
      value: String(editing ? hook.retry_count : 3),
      inputmode: "numeric",
    });
    const rate = h("input", {
      type: "number",
      name: "max_per_second",
      min: "1",
      max: "10000",
      step: "1",
      value: editing && hook.max_per_second ? String(hook.max_per_second) : "",
      inputmode: "numeric",
    });
    const headers = h("textarea", {
      name: "headers",
      rows: "3",
      spellcheck: "false",
      placeholder: "Authorization: Bearer …",
    });
    const save = h(
      "button",
      { type: "submit", class: "btn btn--primary" },
      editing ? "Save changes" : "Create webhook",
    );

    const modal = openModal({
      title: editing ? "Edit webhook" : "New webhook",
      size: "md",
      content: [
        formBanner(),
        textField({
          label: "URL",
          input: url,
          required: true,
          hint: "http or https; receives a POST with a JSON body.",
        }).wrap,
        events,
        textField({
          label: "Secret",
          input: secret,
          hint:
            editing && hook.has_secret
              ? "A secret is set and is never shown. Type a new one to replace it."
              : "Optional. Signs each delivery (X-Webhook-Signature, webhook-signature).",
        }).wrap,
        removeSecret
          ? h(
              "label",
              { class: "check check--inline" },
              removeSecret,
              h("span", {}, "Remove the secret (deliveries go unsigned)"),
            )
          : null,
        h(
          "div",
          { class: "form-grid" },
          textField({ label: "Timeout (seconds)", input: timeout, hint: "1 to 300." }).wrap,
          textField({ label: "Retry count", input: retries, hint: "Retries after a failed attempt, 0 to 20." }).wrap,
        ),
        textField({ label: "Deliveries per second", input: rate, hint: "Optional: at most this many, 1 to 10,000." })
          .wrap,
        textField({
          label: "Extra headers",
          input: headers,
          hint:
            editing && hook.header_names.length
              ? `Set: ${hook.header_names.join(", ")} (values never shown). Type them all again to replace them; leave empty to keep.`
              : "Optional, one per line as Name: value (up to 10); sent with every delivery.",
        }).wrap,
        h("div", { class: "field" }, enabled.wrap),
      ],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Cancel"), save],
      onSubmit: async (form) => {
        clearErrors(form);
        const types = [...form.querySelectorAll("input[name=event]:checked")].map((input) => input.value);
        const payload = {
          url: url.value.trim(),
          event_types: types,
          enabled: enabled.input.checked,
          timeout: numberOrRaw(timeout.value),
          retry_count: numberOrRaw(retries.value),
          max_per_second: numberOrRaw(rate.value),
        };
        if (headers.value.trim()) payload.headers = headerObject(headers.value);
        if (secret.value) payload.secret = secret.value;
        else if (removeSecret?.checked) payload.secret = null;
        setBusy(save, true, "Saving…");
        try {
          await (editing ? put(`/api/webhooks/${hook.id}`, payload) : post("/api/webhooks", payload));
          modal.close();
          toast(editing ? "Webhook saved." : "Webhook created.");
          load();
        } catch (error) {
          setBusy(save, false, "Saving…");
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error);
          if (error.status !== 422) toastError(error);
        }
      },
    });
  }

  // Deliveries ------------------------------------------------------------------------------

  function deliveries(hook) {
    const list = h("div", { class: "deliveries", "data-testid": "deliveries" }, loadingState("deliveries"));
    const more = h("button", { type: "button", class: "btn btn--small", hidden: true }, "Load more");
    const refresh = h("button", { type: "button", class: "btn btn--small" }, icon("refresh", { size: 16 }), "Refresh");
    let pages = 1;
    let shownList = null;

    /** The first `pages` pages again, in one request; the open attempts and the focus stay where they were. */
    async function fetchPages() {
      try {
        const reply = await get(`/api/webhooks/${hook.id}/deliveries`, {
          page: 1,
          page_size: Math.min(pages * DELIVERIES_PAGE, DELIVERIES_MAX),
        });
        const { items, total } = reply;
        const drawn = JSON.stringify(items);
        if (drawn === shownList) return;
        shownList = drawn;
        const open = new Set([...list.querySelectorAll("details[open]")].map((node) => node.dataset.id));
        const focused = list.contains(document.activeElement)
          ? document.activeElement.getAttribute("aria-label")
          : null;
        clear(
          list,
          items.length
            ? items.map((delivery) => deliveryItem(delivery, open.has(String(delivery.id)), fetchPages))
            : emptyState("No deliveries yet", "Use Test or change a product to send one."),
        );
        if (focused) list.querySelector(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
        more.hidden = pages * DELIVERIES_PAGE >= Math.min(total, DELIVERIES_MAX);
      } catch (error) {
        shownList = null;
        clear(list, loadError("deliveries", error));
      }
    }
    more.onclick = () => {
      pages += 1;
      fetchPages();
    };
    refresh.onclick = () => fetchPages();

    const modal = openModal({
      title: "Deliveries",
      description: hook.url,
      size: "lg",
      content: [h("div", { class: "deliveries__tools" }, refresh), list, h("div", { class: "deliveries__more" }, more)],
      footer: [h("button", { type: "button", class: "btn", onclick: () => modal.close() }, "Close")],
    });
    fetchPages();
    followLive(list, fetchPages);
  }

  function deliveryItem(delivery, open, reload) {
    const resend = h(
      "button",
      { type: "button", class: "btn btn--small", "aria-label": `Resend delivery ${delivery.id}` },
      icon("send", { size: 16 }),
      "Resend",
    );
    resend.onclick = async () => {
      setBusy(resend, true);
      try {
        await post(`/api/webhooks/deliveries/${delivery.id}/resend`);
        toast("Delivery queued again.");
        reload();
      } catch (error) {
        toastError(error, "Resend failed");
      } finally {
        setBusy(resend, false);
      }
    };
    const code = delivery.last_status_code;
    const retry =
      delivery.status === "pending" && delivery.next_attempt_at
        ? h(
            "p",
            { class: "delivery__retry", "data-testid": "next-attempt" },
            icon("clock", { size: 14 }),
            "Next attempt ",
            h("time", { datetime: delivery.next_attempt_at }, dateTime(delivery.next_attempt_at)),
          )
        : null;
    return h(
      "article",
      { class: "delivery", "data-testid": "delivery", "data-status": delivery.status },
      h(
        "div",
        { class: "delivery__head" },
        h(
          "div",
          { class: "delivery__what" },
          h("code", {}, delivery.event_type),
          subject(delivery) ? h("span", { class: "muted truncate" }, subject(delivery)) : null,
          badge(delivery.status, DELIVERY_TONE[delivery.status]),
          code === null ? null : h("span", { class: "muted" }, `HTTP ${code}`),
        ),
        h(
          "div",
          { class: "delivery__meta" },
          h(
            "span",
            { class: "muted" },
            `${num(delivery.attempt_count)} ${delivery.attempt_count === 1 ? "attempt" : "attempts"} · `,
            h("time", { datetime: delivery.created_at }, dateTime(delivery.created_at)),
          ),
          resend,
        ),
      ),
      delivery.last_error ? h("p", { class: "delivery__error" }, sentence(delivery.last_error)) : null,
      retry,
      delivery.attempts.length
        ? h(
            "details",
            { class: "delivery__attempts", "data-id": delivery.id, open },
            h("summary", {}, `Attempts (${num(delivery.attempts.length)})`),
            attemptsTable(delivery),
          )
        : null,
    );
  }

  load();
  followLive(card, load);
}

const ATTEMPT_COLUMNS = ["#", "When", "Code", "Time", "Response or error"];

/** Each attempt with its time to the second; the receiver's reply shows whatever the status, beside any error. */
function attemptsTable(delivery) {
  return dataTable({
    className: "table--compact table--stack table--attempts",
    caption: `Attempts of delivery ${delivery.id}`,
    columns: ATTEMPT_COLUMNS,
    rows: delivery.attempts.map((attempt, index) =>
      h(
        "tr",
        {},
        h("td", { "data-label": "#" }, String(index + 1)),
        h("td", { "data-label": "When" }, h("time", { datetime: attempt.at }, dateTime(attempt.at))),
        h("td", { "data-label": "Code" }, attempt.status_code === null ? "–" : String(attempt.status_code)),
        h("td", { "data-label": "Time" }, milliseconds(attempt.duration_ms)),
        h(
          "td",
          { class: "cell-excerpt", "data-label": "Response or error" },
          h(
            "div",
            { class: "stack-xs" },
            attempt.error ? h("span", { class: "cell-error" }, sentence(attempt.error)) : null,
            attempt.response_excerpt ? h("code", {}, attempt.response_excerpt) : null,
          ),
        ),
      ),
    ),
  }).wrap;
}

function numberOrRaw(value) {
  const trimmed = String(value).trim();
  if (trimmed === "") return null;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

/** "Name: value" lines as the API's headers object (a line without a colon is a name with no value). */
function headerObject(text) {
  const entries = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const colon = line.indexOf(":");
      return colon < 0 ? [line, ""] : [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
    });
  return Object.fromEntries(entries);
}
