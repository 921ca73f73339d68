// The dashboard's entry point: loads the signed-in caller, then mounts the sections its role may
// use. No build step; plain ES modules.

import { mountAudit } from "./js/audit.js";
import { mountHistory } from "./js/import-history.js";
import { mountProducts } from "./js/products.js";
import { can, mountSession, revealAllowed, startSession } from "./js/session.js";
import { mountTokens } from "./js/tokens.js";
import { mountUpload } from "./js/upload.js";
import { mountUsers } from "./js/users.js";
import { mountWebhooks } from "./js/webhooks.js";

const byId = (id) => document.getElementById(id);
const who = await startSession();
if (who) {
  mountSession(byId("session"), who);
  revealAllowed(document.body);
  if (can("imports:write")) mountUpload(byId("upload-card"), byId("history-card"));
  else mountHistory(byId("history-card"), { trackedId: () => null, onWatch: null });
  mountProducts(byId("products-card"));
  if (can("webhooks:manage")) mountWebhooks(byId("webhooks-card"));
  mountTokens(byId("tokens-card"));
  if (can("admin")) {
    mountUsers(byId("users-card"));
    mountAudit(byId("audit-card"));
  }
  // Sections that were hidden until now: scroll to the one the address names.
  if (location.hash) byId(location.hash.slice(1))?.scrollIntoView();
}
