// The dashboard's entry point: the views the signed-in user may see, each at its own address,
// and the navigation between them. No build step; plain ES modules.

import { loadSession } from "./js/api.js";
import { h } from "./js/dom.js";
import { mountProducts } from "./js/products.js";
import { startRouter } from "./js/router.js";
import { mountSession } from "./js/session.js";
import { mountUpload } from "./js/upload.js";
import { mountWebhooks } from "./js/webhooks.js";

/** In navigation order; `scope` is what the user needs to see the view (the API's own scopes). */
const VIEWS = [
  {
    id: "import",
    label: "Import",
    scope: "imports:read",
    aliases: ["upload"],
    mount: () => mountUpload(document.getElementById("upload-card"), document.getElementById("history-card")),
  },
  {
    id: "products",
    label: "Products",
    scope: "products:read",
    mount: () => mountProducts(document.getElementById("products-card")),
  },
  {
    id: "webhooks",
    label: "Webhooks",
    scope: "webhooks:manage",
    mount: () => mountWebhooks(document.getElementById("webhooks-card")),
  },
];

/** The view's section in the page, or a new one in <main> for a view whose page is all drawn by its module. */
function sectionOf(view) {
  const found = document.getElementById(view.id);
  if (found) return found;
  const section = h("section", { id: view.id, class: "section", hidden: true });
  document.getElementById("main").append(section);
  return section;
}

// The skip link moves focus without touching the address (the hash names the view).
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});

mountSession(document.getElementById("session"));
loadSession().then(
  (who) => {
    const views = VIEWS.filter((view) => who.scopes.includes(view.scope)).map((view) => ({
      ...view,
      section: sectionOf(view),
    }));
    const nav = document.getElementById("topnav");
    nav.prepend(...views.map((view) => h("a", { href: `#${view.id}`, "data-view": view.id }, view.label)));
    document.getElementById("page-loading").remove();
    startRouter({ views, nav, appName: "Fulfil-RK" });
  },
  () => {},
); // a 401 has already sent the page to sign in
