// The emulator controls (serve --emulator, a token with Emulator.Control):
// faults, forced resync, token expiry, seeding, reset, delivery faults and
// lifecycle events.
import * as api from "./api.js";
import { busy, field, formValues, h, showError, status } from "./ui.js";

// control is one card: a form whose submit calls a control.
function control(title, text, fields, submit, call, cls) {
  const err = h("div", { class: "form-error" });
  const btn = h("button", { type: "submit", class: cls || "primary" }, submit);
  const form = h("form", { class: "grid-form", novalidate: true }, fields, err, h("div", { class: "actions wide" }, btn));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(btn, async () => {
      try {
        const msg = await call(formValues(form));
        showError(err, null);
        status(msg || `${title}: done`);
      } catch (x) {
        showError(err, x);
      }
    });
  });
  return h("section", { class: "card control", "aria-label": title }, h("h2", {}, title), h("p", { class: "muted" }, text), form);
}

const num = (v) => (v === "" || v === undefined ? undefined : Number(v));

export async function emulatorView(root) {
  const has = api.permissions().includes("Emulator.Control");
  root.append(h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Emulator controls")));
  if (!has) {
    root.append(h("div", { class: "alert warn", role: "note" }, "This token has no Emulator.Control permission: the controls will answer 403. Sign in with a token that has it."));
  }
  const user = (api.claims() || {}).upn || "demo@contoso.com";
  const grid = h("div", { class: "controls" });
  root.append(grid);
  grid.append(
    control("Faults", "Queue error answers: the next requests that match answer 429 (with Retry-After) or 503.", [
      field("Status", "status", { type: "select", options: [["429", "429 throttled"], ["503", "503 unavailable"]], value: "429" }),
      field("Count", "count", { type: "number", value: "1", min: 1, inputmode: "numeric" }),
      field("Retry-After (s)", "retryAfter", { type: "number", value: "2", min: 0, inputmode: "numeric" }),
      field("Path prefix", "path", { placeholder: "/me/contacts (empty: any)" }),
      field("Method", "method", { type: "select", options: [["", "Any"], ["GET", "GET"], ["POST", "POST"], ["PATCH", "PATCH"], ["DELETE", "DELETE"]], value: "" }),
    ], "Queue fault", async (v) => {
      const body = { status: Number(v.status), count: num(v.count) || 1, retryAfter: num(v.retryAfter) || 0 };
      if (v.path) body.path = v.path;
      if (v.method) body.method = v.method;
      await api.emulator("POST", "faults", body);
      return `Queued ${body.count} × ${body.status}`;
    }),
    control("Clear faults", "Remove every queued fault of the tenant.", [], "Clear faults", async () => {
      await api.emulator("DELETE", "faults");
      return "Faults cleared";
    }, "secondary"),
    control("Force resync", "Every delta token issued so far answers 410 resyncRequired, with a Location to start over.", [], "Force resync", async () => {
      await api.emulator("POST", "resync");
      return "Delta tokens invalidated";
    }),
    control("Expire tokens", "Every access token of the tenant issued before now answers 401. Tokens with Emulator.Control keep the controls only.", [], "Expire tokens", async () => {
      await api.emulator("POST", "expire-tokens");
      return "Access tokens expired";
    }, "danger"),
    control("Seed", "Generate realistic contacts in a folder of a user, and org contacts.", [
      field("User", "user", { value: user }),
      field("Folder", "folder", { value: "Seeded" }),
      field("Contacts", "contacts", { type: "number", value: "50", min: 0, inputmode: "numeric" }),
      field("Org contacts", "orgContacts", { type: "number", value: "20", min: 0, inputmode: "numeric" }),
      field("Random seed", "seed", { type: "number", placeholder: "optional", inputmode: "numeric" }),
    ], "Seed", async (v) => {
      const body = { user: v.user, folder: v.folder, contacts: num(v.contacts) || 0, orgContacts: num(v.orgContacts) || 0 };
      if (v.seed !== "") body.seed = Number(v.seed);
      await api.emulator("POST", "seed", body);
      return "Seeded";
    }),
    control("Reset tenant", "Delete everything of the tenant: mailboxes, contacts, org contacts, subscriptions.", [], "Reset tenant", async () => {
      if (!confirm("Delete everything of this tenant?")) return "Not reset";
      await api.emulator("POST", "reset");
      sessionStorage.removeItem("contactgraph.console.mailbox");
      return "Tenant reset";
    }, "danger"),
    control("Delivery faults", "Make the next notification POSTs to a receiver fail, time out, wait or arrive twice.", [
      field("Receiver URL", "url", { placeholder: "empty: any receiver" }),
      field("Count", "count", { type: "number", value: "1", min: 1, inputmode: "numeric" }),
      field("Fault", "kind", { type: "select", options: [["fail", "Fail with status"], ["timeout", "Time out"], ["delay", "Delay"], ["duplicate", "Duplicate"]], value: "fail" }),
      field("Status / delay (ms)", "arg", { type: "number", value: "503", inputmode: "numeric" }),
    ], "Queue delivery fault", async (v) => {
      const body = { url: v.url, count: num(v.count) || 1 };
      if (v.kind === "fail") body.fail = num(v.arg) || 503;
      if (v.kind === "timeout") body.timeout = true;
      if (v.kind === "delay") body.delayMs = num(v.arg) || 1000;
      if (v.kind === "duplicate") body.duplicate = true;
      await api.emulator("POST", "deliveries", body);
      return "Delivery fault queued";
    }),
    control("Lifecycle event", "Send a lifecycle notification now to a subscription's lifecycleNotificationUrl.", [
      field("Subscription id", "subscriptionId", {}),
      field("Event", "event", { type: "select", options: [["missed", "missed"], ["reauthorizationRequired", "reauthorizationRequired"], ["subscriptionRemoved", "subscriptionRemoved"]], value: "missed" }),
    ], "Send event", async (v) => {
      await api.emulator("POST", "lifecycle", { subscriptionId: v.subscriptionId.trim(), event: v.event });
      return "Lifecycle event sent";
    }),
  );
}
