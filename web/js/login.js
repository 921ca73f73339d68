import { wireForm } from "./signin.js";

wireForm(document.getElementById("login-form"), "/api/auth/login");
