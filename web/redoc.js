// Starts ReDoc on /redoc (a file, not an inline script: the Content-Security-Policy allows none).
// Redoc's theme names web fonts (Montserrat, Roboto) without loading them; system fonts make the
// offline page look as intended, and nothing here links a font service.
const system = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const theme = {
  typography: {
    fontFamily: system,
    headings: { fontFamily: system },
    code: { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" },
  },
};
Redoc.init(document.currentScript.dataset.openapi, { theme }, document.getElementById("redoc"));
