// The dashboard's entry point: mounts the three sections. No build step; plain ES modules.

import { mountProducts } from "./js/products.js";
import { mountUpload } from "./js/upload.js";
import { mountWebhooks } from "./js/webhooks.js";

mountUpload(document.getElementById("upload-card"), document.getElementById("history-card"));
mountProducts(document.getElementById("products-card"));
mountWebhooks(document.getElementById("webhooks-card"));
