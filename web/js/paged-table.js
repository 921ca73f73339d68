// A table of one API list a page at a time: the request, its rows, its empty and error states and
// the pager (ui.js's, the same as the products'), shared by the tokens, users and audit sections.

import { get } from "./api.js";
import { clear } from "./dom.js";
import { dataTable, loadError, pager, replaceRows } from "./ui.js";

/**
 * `path` is fetched with `params()` plus `page` and `page_size`; each item becomes `row(item)`;
 * `empty(params)` is what an empty page shows. `table` is dataTable's options, `what` names the
 * list in messages. Returns `nodes` to place and `load(page)`: without a page it reloads the
 * current one (or the one before, when a removal emptied the last), and a newer load wins.
 */
export function pagedTable({ path, what, table, row, pageSize, params = () => ({}), empty = () => null }) {
  let page = 1;
  let loading = null;
  const list = dataTable(table);
  const pages = pager({ label: what, onPage: ({ page: n }) => load(n) });

  async function load(n = page) {
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    list.table.setAttribute("aria-busy", "true");
    const query = params();
    try {
      const reply = await get(path, { ...query, page: n, page_size: pageSize }, controller.signal);
      if (!reply.items.length && reply.page > 1 && n === page) {
        load(reply.page - 1);
        return;
      }
      page = reply.page;
      replaceRows(
        list.tbody,
        reply.items.map((item) => row(item)),
      );
      clear(list.state, reply.items.length ? null : empty(query));
      pages.show(reply);
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(list.tbody);
      clear(list.state, loadError(what, error));
    } finally {
      if (loading === controller) {
        loading = null;
        list.table.removeAttribute("aria-busy");
      }
    }
  }

  return { nodes: [list.wrap, list.state, pages.root], load };
}
