// Org contacts: the tenant's directory (search, create, edit, delete) and
// its deleted items (restore, purge).
import * as api from "./api.js";
import { busy, button, clear, field, fmtDate, formValues, h, showError, status } from "./ui.js";

const FIELDS = [
  ["displayName", "Display name"],
  ["givenName", "First name"],
  ["surname", "Last name"],
  ["mail", "Email address"],
  ["companyName", "Company"],
  ["department", "Department"],
  ["jobTitle", "Job title"],
];

export async function orgView(root) {
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Org contacts" });
  const panel = h("div", { role: "tabpanel", id: "org-panel" });
  const dirTab = h("button", { type: "button", role: "tab", id: "tab-directory", "aria-controls": "org-panel" }, "Directory");
  const delTab = h("button", { type: "button", role: "tab", id: "tab-deleted", "aria-controls": "org-panel" }, "Deleted items");
  tabs.append(dirTab, delTab);
  root.append(h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Org contacts"), tabs), panel);
  const select = (tab) => {
    for (const t of [dirTab, delTab]) {
      t.setAttribute("aria-selected", String(t === tab));
      t.tabIndex = t === tab ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", tab.id);
    clear(panel);
    return tab === dirTab ? directory(panel) : deleted(panel);
  };
  dirTab.addEventListener("click", () => select(dirTab));
  delTab.addEventListener("click", () => select(delTab));
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const t = document.activeElement === dirTab ? delTab : dirTab;
    t.focus();
    select(t);
  });
  await select(dirTab);
}

async function directory(panel) {
  const search = h("input", { id: "org-search", type: "search", name: "q", placeholder: "Name starts with…", autocomplete: "off" });
  const err = h("div", { id: "org-error" });
  const tbody = h("tbody");
  const count = h("span", { class: "muted" });
  const more = button("Load more", () => page(next, false), { class: "secondary" });
  const query = h("code", { class: "query" });
  const editor = h("section", { class: "card editor", hidden: true, "aria-label": "Org contact" });
  let next = null;
  more.hidden = true;
  panel.append(
    h("div", { class: "content" },
      h(
        "section",
        { class: "card list" },
        h("div", { class: "list-head" }, h("h2", {}, "Directory"), count, h("span", { class: "grow" }), button("New org contact", () => edit(null), { class: "primary" })),
        h(
          "form",
          { class: "searchbar", role: "search", onsubmit: (e) => (e.preventDefault(), load()) },
          h("div", { class: "field grow" }, h("label", { for: "org-search" }, "Search"), search),
          h("button", { type: "submit" }, "Search"),
        ),
        query,
        err,
        h("div", { class: "table-wrap" },
          h("table", { class: "grid", id: "org-contacts" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Email"), h("th", { scope: "col", class: "hide-s" }, "Company"), h("th", { scope: "col", class: "hide-s" }, "Job title"))),
            tbody)),
        more,
      ),
      editor,
    ),
  );

  async function load() {
    const q = search.value.trim();
    // $search with ConsistencyLevel: eventual, as Entra's advanced queries.
    const params = ["$top=50", "$count=true", "$orderby=displayName"];
    if (q) params.push("$search=" + encodeURIComponent(`"displayName:${q.replace(/"/g, "")}"`));
    const u = "/contacts?" + params.join("&");
    query.textContent = `GET ${api.config.apiBase}${decodeURIComponent(u)}  (ConsistencyLevel: eventual)`;
    clear(tbody);
    await page(u, true);
  }

  async function page(u, first) {
    try {
      const p = await api.get(u, { headers: { ConsistencyLevel: "eventual" } });
      showError(err, null);
      next = p["@odata.nextLink"] || null;
      more.hidden = !next;
      if (p["@odata.count"] !== undefined) count.textContent = `${p["@odata.count"]} org contact${p["@odata.count"] === 1 ? "" : "s"}`;
      for (const o of p.value) {
        tbody.append(h("tr", { dataset: { id: o.id } },
          h("td", {}, button(o.displayName || "(no name)", () => edit(o), { class: "link" })),
          h("td", {}, o.mail || ""),
          h("td", { class: "hide-s" }, o.companyName || ""),
          h("td", { class: "hide-s" }, o.jobTitle || "")));
      }
      if (first && !p.value.length) tbody.append(h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No org contacts.")));
    } catch (e) {
      showError(err, e);
    }
  }

  function edit(o) {
    editor.hidden = false;
    const ferr = h("div", { class: "form-error" });
    const form = h("form", { class: "grid-form", novalidate: true, id: "org-form" }, FIELDS.map(([n, l]) => field(l, n, { value: o ? o[n] || "" : "" })));
    const save = h("button", { type: "submit", class: "primary" }, o ? "Save" : "Create");
    const actions = h("div", { class: "actions" }, save, button("Close", () => (editor.hidden = true), { class: "secondary" }));
    if (o) {
      actions.append(h("span", { class: "grow" }), button("Delete", async (e) => {
        if (!confirm(`Delete ${o.displayName}? It stays restorable in Deleted items.`)) return;
        await busy(e.target, async () => {
          try {
            await api.del(`/contacts/${api.seg(o.id)}`);
            status("Org contact deleted");
            editor.hidden = true;
            load();
          } catch (x) {
            showError(ferr, x);
          }
        });
      }, { class: "danger" }));
    }
    form.append(ferr, actions);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const v = formValues(form);
      const body = {};
      for (const [n] of FIELDS) {
        if (o ? v[n] !== (o[n] || "") : v[n] !== "") body[n] = v[n] === "" ? null : v[n];
      }
      await busy(save, async () => {
        try {
          const saved = o ? await api.patch(`/contacts/${api.seg(o.id)}`, body) : await api.post("/contacts", body);
          status(o ? "Org contact saved" : "Org contact created");
          load();
          edit(saved || { ...o, ...body });
        } catch (x) {
          showError(ferr, x);
        }
      });
    });
    clear(editor, h("h2", {}, o ? o.displayName : "New org contact"), o ? h("p", { class: "muted small" }, "id " + o.id) : null, form);
    editor.querySelector("input").focus();
  }

  await load();
}

async function deleted(panel) {
  const err = h("div", { id: "deleted-error" });
  const tbody = h("tbody");
  panel.append(
    h("section", { class: "card list" },
      h("div", { class: "list-head" }, h("h2", {}, "Deleted org contacts"), h("span", { class: "grow" }), button("Refresh", () => load(), { class: "secondary" })),
      h("p", { class: "muted" }, "Deleted org contacts stay restorable until they are purged (or --purge-after passes). A delta round reports them as removed with reason “changed”, and “deleted” once purged."),
      err,
      h("div", { class: "table-wrap" },
        h("table", { class: "grid", id: "deleted-items" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "hide-s" }, "Email"), h("th", { scope: "col", class: "hide-s" }, "Deleted"), h("th", { scope: "col" }, h("span", { class: "sr" }, "Actions")))),
          tbody))));

  async function load() {
    clear(tbody);
    try {
      const items = await api.all("/directory/deletedItems/microsoft.graph.orgContact?$top=100", 1000);
      showError(err, null);
      if (!items.length) tbody.append(h("tr", {}, h("td", { colspan: 4, class: "empty" }, "Nothing deleted.")));
      for (const o of items) {
        tbody.append(h("tr", { dataset: { id: o.id } },
          h("td", {}, o.displayName || o.id),
          h("td", { class: "hide-s" }, o.mail || ""),
          h("td", { class: "hide-s muted" }, fmtDate(o.deletedDateTime)),
          h("td", { class: "row-actions" },
            button("Restore", (e) => act(e, o, "restore"), { label: `Restore ${o.displayName}` }),
            button("Purge", (e) => act(e, o, "purge"), { class: "danger", label: `Purge ${o.displayName}` }))));
      }
    } catch (e) {
      showError(err, e);
    }
  }

  async function act(e, o, what) {
    if (what === "purge" && !confirm(`Purge ${o.displayName} for good? This cannot be undone.`)) return;
    await busy(e.target, async () => {
      try {
        if (what === "restore") await api.post(`/directory/deletedItems/${api.seg(o.id)}/restore`);
        else await api.del(`/directory/deletedItems/${api.seg(o.id)}`);
        status(what === "restore" ? `${o.displayName} restored` : `${o.displayName} purged`);
        load();
      } catch (x) {
        showError(err, x);
      }
    });
  }

  await load();
}
