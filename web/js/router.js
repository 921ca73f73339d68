// Sections as places: each view has its own address (#import, #products, #webhooks...), so the
// back button moves between them, a link opens one, and the navigation marks the one on screen.
// The hash carries the view; the query string stays the view's own (the products' filters).
// A view is drawn the first time it is shown and kept after, so coming back is instant and a
// running import keeps its stream.

/**
 * `views`: `{ id, label, section, mount, aliases }` in navigation order, only those the signed-in
 * user may see; `nav` holds one link per view (`a[data-view=id]`). `mount(section)` draws a view.
 * Returns `go(id)`, which shows a view and records it in the history.
 */
export function startRouter({ views, nav, appName }) {
  const byId = new Map();
  for (const view of views) {
    byId.set(view.id, view);
    for (const alias of view.aliases ?? []) byId.set(alias, view);
  }
  const mounted = new Set();
  let current = null;

  function viewOf(hash) {
    return byId.get(decodeURIComponent(hash.replace(/^#\/?/, ""))) ?? null;
  }

  function show(view, { focus }) {
    for (const other of views) other.section.hidden = other !== view;
    for (const link of nav.querySelectorAll("a[data-view]")) {
      if (link.dataset.view === view.id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = `${view.label} · ${appName}`;
    if (!mounted.has(view.id)) {
      mounted.add(view.id);
      view.mount(view.section);
    }
    const changed = current !== view;
    current = view;
    if (!changed || !focus) return;
    window.scrollTo(0, 0);
    // A screen reader hears where it landed; the next Tab starts in the view.
    const heading = view.section.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  function route({ focus }) {
    const wanted = viewOf(location.hash);
    if (wanted) {
      show(wanted, { focus });
      return;
    }
    // No view named (or one this user may not see, or gone): the first one, without a new entry.
    const url = `${location.pathname}${location.search}#${views[0].id}`;
    history.replaceState(history.state, "", url);
    show(views[0], { focus });
  }

  window.addEventListener("hashchange", () => route({ focus: true }));
  route({ focus: false });

  return {
    go(id) {
      if (location.hash !== `#${id}`) location.hash = id;
    },
    current: () => current?.id ?? null,
  };
}
