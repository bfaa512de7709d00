// The resident web app (PWA) at /: see ../app/main.js.
import "../app/main.js";
