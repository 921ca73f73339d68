// A product's history in its edit dialog: each change newest first, what it changed (before and
// after), when, who and from where (the API, an import, a bulk action or an undo).

import { get } from "./api.js";
import { clear, dateTime, h, num, timeAgo } from "./dom.js";
import { loadError } from "./ui.js";

const PAGE_SIZE = 10;
const ACTIONS = { created: "Created", updated: "Updated", deleted: "Deleted" };
const SOURCES = { api: "by hand", import: "by an import", bulk: "by a bulk action", undo: "by an undo" };

const shown = (value) => (value === null || value === undefined ? "(none)" : String(value));

function changes(entry) {
  const fields = Object.keys(entry.after ?? entry.before ?? {});
  return h(
    "ul",
    { class: "history__changes" },
    fields.map((field) => {
      const before = entry.before ? shown(entry.before[field]) : null;
      const after = entry.after ? shown(entry.after[field]) : null;
      const text = before !== null && after !== null ? `${before} → ${after}` : (after ?? before);
      return h("li", {}, h("span", { class: "history__field" }, field), " ", text);
    }),
  );
}

function item(entry) {
  const who = entry.actor.email ?? "the system";
  const via = entry.actor.token_id ? " (API token)" : "";
  return h(
    "li",
    { class: "history__entry", "data-testid": "history-entry" },
    h(
      "p",
      { class: "history__head" },
      h("strong", {}, ACTIONS[entry.action]),
      ` ${SOURCES[entry.source]} · ${who}${via} · `,
      h("time", { datetime: entry.at, title: dateTime(entry.at) }, timeAgo(entry.at)),
    ),
    changes(entry),
  );
}

/** The history section for product `productId`; it loads itself, a page at a time. */
export function historySection(productId) {
  // The list scrolls inside the dialog: focusable, so the keyboard can scroll it too.
  const list = h("ol", { class: "history__list", tabindex: "0", "aria-label": "Changes, newest first" });
  const state = h("p", { class: "field__hint" }, "Loading history…");
  const more = h("button", { type: "button", class: "btn btn--small", hidden: true }, "Show older changes");
  let page = 0;

  async function load() {
    page += 1;
    try {
      const reply = await get(`/api/products/${productId}/history`, { page, page_size: PAGE_SIZE });
      list.append(...reply.items.map(item));
      clear(state, reply.total ? `${num(reply.total)} changes` : "No changes recorded.");
      more.hidden = page * PAGE_SIZE >= reply.total;
    } catch (error) {
      clear(state, loadError("the history", error));
    }
  }

  more.addEventListener("click", () => load());
  load();
  return h(
    "section",
    { class: "history", "aria-label": "History", "data-testid": "product-history" },
    h("h3", { class: "history__title" }, "History"),
    state,
    list,
    more,
  );
}
