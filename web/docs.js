// Starts Swagger UI on /docs (a file, not an inline script: the Content-Security-Policy allows none).
// validatorUrl: null, or Swagger UI sends the document to an online validator for its badge.
// "Authorize" takes an API token (fk_…), kept only while the page is open.
window.ui = SwaggerUIBundle({
  url: document.currentScript.dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
