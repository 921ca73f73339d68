// The dashboard's entry point: the views the signed-in user may see, each at its own address,
// and the navigation between them. No build step; plain ES modules.

import { mountAudit } from "./js/audit.js";
import { h } from "./js/dom.js";
import { mountHistory } from "./js/import-history.js";
import { mountProducts } from "./js/products.js";
import { startRouter } from "./js/router.js";
import { can, mountSession, revealAllowed, startSession } from "./js/session.js";
import { mountTokens } from "./js/tokens.js";
import { mountUpload } from "./js/upload.js";
import { mountUsers } from "./js/users.js";
import { mountWebhooks } from "./js/webhooks.js";

const byId = (id) => document.getElementById(id);

/** In navigation order; `scope` is what the user needs to see the view (the API's own scopes). */
const VIEWS = [
  {
    id: "import",
    label: "Import",
    scope: "imports:read",
    aliases: ["upload"],
    mount: () => {
      if (can("imports:write")) mountUpload(byId("upload-card"), byId("history-card"));
      else mountHistory(byId("history-card"), { trackedId: () => null, onWatch: null });
    },
  },
  { id: "products", label: "Products", scope: "products:read", mount: () => mountProducts(byId("products-card")) },
  { id: "webhooks", label: "Webhooks", scope: "webhooks:manage", mount: (section) => mountWebhooks(cardOf(section)) },
  { id: "tokens", label: "API tokens", scope: "authenticated", mount: (section) => mountTokens(cardOf(section)) },
  { id: "users", label: "Users", scope: "admin", mount: (section) => mountUsers(cardOf(section)) },
  { id: "audit", label: "Audit", scope: "admin", mount: (section) => mountAudit(cardOf(section)) },
];

/**
 * The view's section in the page, or a new one in <main> holding one card (`#<id>-card`, titled by
 * its module's `#<id>-title`): a view the user may not see leaves nothing in the page.
 */
function sectionOf(view) {
  const found = byId(view.id);
  if (found) return found;
  const section = h(
    "section",
    { id: view.id, class: "section", "aria-labelledby": `${view.id}-title`, hidden: true },
    h("div", { class: "card", id: `${view.id}-card` }),
  );
  byId("main").append(section);
  return section;
}

function cardOf(section) {
  return section.querySelector(".card");
}

// The skip link moves focus without touching the address (the hash names the view).
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  byId("main").focus();
});

const who = await startSession();
if (who) {
  mountSession(byId("session"), who);
  revealAllowed(document.body);
  const views = VIEWS.filter((view) => can(view.scope)).map((view) => ({ ...view, section: sectionOf(view) }));
  const nav = byId("topnav");
  nav.prepend(...views.map((view) => h("a", { href: `#${view.id}`, "data-view": view.id }, view.label)));
  byId("page-loading").remove();
  startRouter({ views, nav, appName: "Fulfil-RK" });
}
