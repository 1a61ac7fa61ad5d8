// Subscriptions: the caller's change-notification subscriptions, with
// create, renew, reauthorize and delete.
import * as api from "./api.js";
import { busy, button, clear, field, fmtDate, formValues, h, showError, status } from "./ui.js";
import { mailboxPath } from "./mailbox.js";

export async function subscriptionsView(root) {
  const err = h("div", { id: "subs-error" });
  const tbody = h("tbody");
  const mbx = mailboxPath();
  const res = mbx ? mbx.replace(/^\//, "") : "users/{id}";
  const ferr = h("div", { class: "form-error" });
  const detail = h("section", { class: "card", id: "deliveries-card", "aria-labelledby": "deliveries-title", hidden: true });
  const form = h("form", { class: "grid-form", id: "sub-form", novalidate: true },
    field("Resource", "resource", { value: res + "/contacts", hint: `${res}/contacts, ${res}/contactFolders/{id}/contacts, ${res}/contactFolders or contacts (org contacts)` }),
    field("Notification URL", "notificationUrl", { type: "url", placeholder: "https://receiver.example/hook", hint: "It must answer the validationToken handshake within 10 s." }),
    field("Lifecycle notification URL", "lifecycleNotificationUrl", { type: "url", placeholder: "optional" }),
    field("Expires in (minutes)", "minutes", { type: "number", value: "60", min: 1, max: 10080, inputmode: "numeric" }),
    field("Client state", "clientState", { placeholder: "optional secret echoed in notifications" }),
    h("fieldset", { class: "wide checks" }, h("legend", {}, "Change types"),
      ["created", "updated", "deleted"].map((t) => field(t, "ct-" + t, { type: "checkbox", checked: true }))),
    ferr,
    h("div", { class: "actions wide" }, h("button", { type: "submit", class: "primary" }, "Subscribe")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const body = {
      changeType: ["created", "updated", "deleted"].filter((t) => v["ct-" + t]).join(","),
      notificationUrl: v.notificationUrl,
      resource: v.resource,
      expirationDateTime: new Date(Date.now() + Number(v.minutes || 60) * 60000).toISOString(),
    };
    if (v.lifecycleNotificationUrl) body.lifecycleNotificationUrl = v.lifecycleNotificationUrl;
    if (v.clientState) body.clientState = v.clientState;
    await busy(e.submitter || form.querySelector("button[type=submit]"), async () => {
      try {
        await api.post("/subscriptions", body);
        showError(ferr, null);
        status("Subscribed");
        load();
      } catch (x) {
        showError(ferr, x);
      }
    });
  });

  root.append(
    h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Subscriptions")),
    h("section", { class: "card list" },
      h("div", { class: "list-head" }, h("h2", {}, "Your subscriptions"), h("span", { class: "grow" }), button("Refresh", () => load(), { class: "secondary" })),
      err,
      h("div", { class: "table-wrap" },
        h("table", { class: "grid", id: "subscriptions" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Resource"), h("th", { scope: "col" }, "Changes"),
            h("th", { scope: "col", class: "hide-s" }, "Notification URL"), h("th", { scope: "col" }, "Expires"),
            h("th", { scope: "col" }, h("span", { class: "sr" }, "Actions")))),
          tbody))),
    detail,
    h("section", { class: "card" }, h("h2", {}, "New subscription"), form),
  );

  // deliveries shows the latest delivery attempts of a subscription.
  async function deliveries(s) {
    const body = h("tbody");
    const derr = h("div");
    const refresh = button("Refresh", () => fill(), { class: "secondary" });
    clear(detail,
      h("div", { class: "list-head" }, h("h2", { id: "deliveries-title" }, "Deliveries"), h("code", { class: "small muted" }, s.id), h("span", { class: "grow" }), refresh,
        button("Close", () => (detail.hidden = true), { class: "secondary" })),
      h("p", { class: "muted small" }, "The latest attempts of this server's senders to post the subscription's notifications, newest first (GET /subscriptions/{id}/deliveries)."),
      derr,
      h("div", { class: "table-wrap" },
        h("table", { class: "grid", id: "deliveries" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Attempt"),
            h("th", { scope: "col" }, "Notifications"), h("th", { scope: "col" }, "Last error"))),
          body)));
    detail.hidden = false;
    async function fill() {
      try {
        const ds = (await api.get(`/subscriptions/${api.seg(s.id)}/deliveries`)).value;
        showError(derr, null);
        clear(body);
        if (!ds.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nothing delivered or attempted yet.")));
        for (const d of ds) {
          const cls = d.status === "delivered" ? "badge ok" : d.status === "dropped" ? "badge danger" : "badge warn";
          body.append(h("tr", {},
            h("td", { class: "muted" }, fmtDate(d.dateTime), h("div", { class: "small" }, `${d.durationMs} ms`)),
            h("td", {}, h("span", { class: cls }, d.status)),
            h("td", {}, String(d.attempt)),
            h("td", {}, d.lifecycleEvent ? `lifecycle: ${d.lifecycleEvent}` : String(d.notificationCount)),
            h("td", { class: "small" }, d.error || "")));
        }
      } catch (e) {
        showError(derr, e);
      }
    }
    await fill();
    detail.querySelector("h2").scrollIntoView({ block: "nearest" });
  }

  async function load() {
    clear(tbody);
    try {
      const subs = await api.all("/subscriptions", 1000);
      showError(err, null);
      if (!subs.length) tbody.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No subscriptions.")));
      for (const s of subs) tbody.append(row(s));
    } catch (e) {
      showError(err, e);
    }
  }

  function row(s) {
    const expired = new Date(s.expirationDateTime) < new Date();
    const act = (label, fn, cls) => button(label, (e) => busy(e.target, async () => {
      try {
        await fn();
        load();
      } catch (x) {
        showError(err, x);
      }
    }), { class: cls, label: `${label} ${s.id}` });
    return h("tr", { dataset: { id: s.id } },
      h("td", {}, h("code", {}, s.resource), h("div", { class: "muted small" }, s.id)),
      h("td", {}, s.changeType),
      h("td", { class: "hide-s" }, h("code", { class: "small" }, s.notificationUrl), s.lifecycleNotificationUrl ? h("div", { class: "muted small" }, "lifecycle " + s.lifecycleNotificationUrl) : null),
      h("td", {}, h("span", { class: expired ? "badge danger" : "badge ok" }, expired ? "expired" : "active"), " ", fmtDate(s.expirationDateTime)),
      h("td", { class: "row-actions" },
        button("Deliveries", () => deliveries(s), { class: "secondary", label: `Deliveries of ${s.id}` }),
        // A day: within every kind's limit (1,440 minutes with resource data).
        act("Renew", () => api.patch(`/subscriptions/${api.seg(s.id)}`, { expirationDateTime: new Date(Date.now() + 86400000 - 60000).toISOString() }).then(() => status("Renewed for a day"))),
        act("Reauthorize", () => api.post(`/subscriptions/${api.seg(s.id)}/reauthorize`).then(() => status("Reauthorized")), "secondary"),
        act("Delete", () => (confirm("Delete this subscription?") ? api.del(`/subscriptions/${api.seg(s.id)}`).then(() => status("Deleted")) : null), "danger")));
  }

  await load();
}
