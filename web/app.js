// The dashboard's entry point: mounts the three sections. No build step; plain ES modules.

import { mountProducts } from "./js/products.js";
import { mountSession } from "./js/session.js";
import { mountUpload } from "./js/upload.js";
import { mountWebhooks } from "./js/webhooks.js";

mountSession(document.getElementById("session"));
mountUpload(document.getElementById("upload-card"), document.getElementById("history-card"));
mountProducts(document.getElementById("products-card"));
mountWebhooks(document.getElementById("webhooks-card"));
