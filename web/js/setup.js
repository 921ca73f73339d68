import { wireForm } from "./signin.js";

const token = new URLSearchParams(location.search).get("token") || "";
if (!token) document.getElementById("setup-missing").hidden = false;
wireForm(document.getElementById("setup-form"), "/api/auth/setup", () => ({ token }));
