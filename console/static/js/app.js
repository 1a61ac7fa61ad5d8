// The console: sign-in, navigation, and the views.
import * as api from "./api.js";
import { clear, status } from "./ui.js";
import { mailboxView } from "./mailbox.js";
import { orgView } from "./org.js";
import { changesView } from "./changes.js";
import { subscriptionsView } from "./subscriptions.js";
import { emulatorView } from "./emulator.js";

const views = {
  mailbox: mailboxView,
  org: orgView,
  changes: changesView,
  subscriptions: subscriptionsView,
  emulator: emulatorView,
};

const $ = (id) => document.getElementById(id);

// takeHashToken moves a #token=… from the URL into the session and out of
// the address bar (and so out of the history).
function takeHashToken() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  api.setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search + "#/mailbox");
}

function showSignIn(message) {
  $("nav").hidden = true;
  $("who").hidden = true;
  clear($("view"));
  $("signin").hidden = false;
  const err = $("signin-error");
  err.hidden = !message;
  err.textContent = message || "";
  $("token").focus();
}

function signedIn() {
  const c = api.claims();
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("who").hidden = false;
  $("nav-emulator").hidden = !api.config.emulator;
  const name = c ? c.upn || c.preferred_username || c.app_displayname || c.appid || "application" : "token";
  $("who-name").textContent = name;
  $("who-name").title = c ? `tenant ${c.tid}\n${api.permissions(c).join(" ")}\nexpires ${new Date(c.exp * 1000).toLocaleString()}` : "";
}

let current = null;

async function route() {
  if (!api.token()) return showSignIn();
  signedIn();
  let name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  if (!views[name] || (name === "emulator" && !api.config.emulator)) {
    name = "mailbox";
    history.replaceState(null, "", "#/mailbox");
  }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current.stop) current.stop();
  const view = $("view");
  clear(view);
  current = (await views[name](view)) || null;
  const h1 = view.querySelector("h1");
  if (h1 && document.activeElement === document.body) h1.focus();
}

async function signIn(t) {
  t = t.trim().replace(/^Bearer\s+/i, "");
  if (t.split(".").length !== 3) {
    showSignIn("That is not a token: an access token is three base64url parts separated by dots.");
    return;
  }
  api.setToken(t);
  try {
    // Any authenticated call tells whether the server accepts the token.
    await api.request("GET", api.isApp() ? "/users?$top=1" : "/me");
  } catch (err) {
    if (err.status === 401 || err.status === 0) {
      api.setToken("");
      showSignIn(`${err.status || ""} ${err.code}: ${err.message}`.trim());
      return;
    }
    // A token without the permission to read users is still a token.
  }
  if (!/^#\/\w+/.test(location.hash)) history.replaceState(null, "", "#/mailbox");
  status("Signed in");
  route();
}

function signOut() {
  api.setToken("");
  if (current && current.stop) current.stop();
  current = null;
  sessionStorage.clear();
  history.replaceState(null, "", location.pathname);
  $("token").value = "";
  showSignIn();
}

async function main() {
  await api.loadConfig().catch(() => {});
  takeHashToken();
  api.whenUnauthorized((err) => {
    status(`Signed out: ${err.message}`);
  });
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("token").value);
  });
  $("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    takeHashToken();
    route();
  });
  route();
}

main();
