// The mailbox view: a folder tree, the contacts of a folder with search and
// sort ($filter, $orderby), and a contact editor.
import * as api from "./api.js";
import { busy, button, clear, errorBox, field, fmtDate, formValues, h, showError, splitList, status } from "./ui.js";

const MAILBOX_KEY = "contactgraph.console.mailbox";

// mailboxPath is "/me" for a delegated token, else "/users/{id}" of the
// picked user ("" when none is picked yet).
export function mailboxPath() {
  if (!api.isApp()) return "/me";
  const u = sessionStorage.getItem(MAILBOX_KEY);
  return u ? "/users/" + api.seg(u) : "";
}

// folderContacts is the contacts collection of a folder ("" = default).
export function folderContacts(mbx, folderId) {
  return folderId ? `${mbx}/contactFolders/${api.seg(folderId)}/contacts` : `${mbx}/contacts`;
}

// userPicker renders the user choice of an application token.
export async function userPicker(onPick) {
  const box = h("div", { class: "picker" });
  const err = h("div");
  const sel = h("select", { id: "user-picker", name: "user" }, h("option", { value: "" }, "Choose a user…"));
  box.append(h("label", { for: "user-picker" }, "Mailbox of"), sel, err);
  try {
    const users = await api.all("/users?$top=100", 1000);
    const cur = sessionStorage.getItem(MAILBOX_KEY) || "";
    for (const u of users) {
      sel.append(h("option", { value: u.id, selected: u.id === cur }, `${u.displayName || ""} <${u.userPrincipalName}>`));
    }
  } catch (e) {
    showError(err, e);
  }
  sel.addEventListener("change", () => {
    if (sel.value) sessionStorage.setItem(MAILBOX_KEY, sel.value);
    else sessionStorage.removeItem(MAILBOX_KEY);
    onPick();
  });
  return box;
}

// treeKey moves within the folder tree as a tree view does: Up and Down
// to the previous and next visible folder, Right to open a folder's
// subfolders, Left to close them or go to the parent, Home and End.
function treeKey(tree, e) {
  const folders = [...tree.querySelectorAll("button.folder")].filter((b) => b.offsetParent !== null);
  const i = folders.indexOf(document.activeElement);
  if (i < 0) return;
  const li = folders[i].closest("[role=treeitem]");
  const toggle = li.querySelector(":scope > .node > button.toggle");
  let to = null;
  switch (e.key) {
    case "ArrowDown": to = folders[i + 1]; break;
    case "ArrowUp": to = folders[i - 1]; break;
    case "Home": to = folders[0]; break;
    case "End": to = folders[folders.length - 1]; break;
    case "ArrowRight":
      if (toggle && li.getAttribute("aria-expanded") === "false") toggle.click();
      break;
    case "ArrowLeft":
      if (toggle && li.getAttribute("aria-expanded") === "true") toggle.click();
      else to = li.parentElement.closest("[role=treeitem]")?.querySelector(":scope > .node > button.folder");
      break;
    default:
      return;
  }
  e.preventDefault();
  if (to) {
    for (const b of folders) b.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  }
}

const ORDERS = [
  ["displayName asc", "Name (A–Z)"],
  ["displayName desc", "Name (Z–A)"],
  ["surname asc,givenName asc", "Surname"],
  ["lastModifiedDateTime desc", "Last modified"],
  ["createdDateTime desc", "Newest"],
];

// searchFilter builds the $filter of a search box's text.
export function searchFilter(q) {
  q = q.trim();
  if (!q) return "";
  if (q.includes("@")) return `emailAddresses/any(a:a/address eq ${api.quote(q)})`;
  const parts = ["displayName", "givenName", "surname", "companyName"].map((p) => `startswith(${p},${api.quote(q)})`);
  return parts.join(" or ");
}

export async function mailboxView(root) {
  const state = { folder: "", folderName: "Contacts", next: null, contacts: [], editing: null };
  const title = h("h1", { tabindex: "-1" }, "Mailbox");
  const header = h("div", { class: "view-head" }, title);
  root.append(header);
  if (api.isApp()) header.append(await userPicker(() => mailboxView(clear(root))));
  const mbx = mailboxPath();
  if (!mbx) {
    root.append(h("p", { class: "empty" }, "An application token reads any mailbox: choose a user above."));
    return;
  }

  const tree = h("ul", { class: "tree", role: "tree", "aria-label": "Contact folders" });
  tree.addEventListener("keydown", (e) => treeKey(tree, e));
  const treeErr = h("div");
  const newFolder = h(
    "form",
    { class: "inline", onsubmit: (e) => createFolder(e) },
    h("label", { for: "new-folder", class: "sr" }, "New folder name (made in the selected folder)"),
    h("input", { id: "new-folder", name: "displayName", placeholder: "New folder", required: true, autocomplete: "off" }),
    h("button", { type: "submit", class: "secondary" }, "Add"),
  );
  const renameBtn = button("Rename", () => renameFolder(), { class: "link small", label: "Rename the selected folder" });
  const deleteBtn = button("Delete", () => deleteFolder(), { class: "link small danger-link", label: "Delete the selected folder" });
  const folderActions = h("div", { class: "folder-actions", hidden: true }, renameBtn, deleteBtn);
  const side = h("aside", { class: "side card", "aria-label": "Folders" }, h("h2", {}, "Folders"), treeErr, tree, folderActions, newFolder);

  const search = h("input", { id: "search", type: "search", name: "q", placeholder: "Name, company or email address", autocomplete: "off" });
  const order = h("select", { id: "order", name: "orderby" }, ORDERS.map(([v, t]) => h("option", { value: v }, t)));
  const filterBox = h("input", { id: "filter", name: "filter", placeholder: "startswith(companyName,'Contoso')", autocomplete: "off", spellcheck: "false" });
  const queryLine = h("code", { class: "query", id: "query" });
  const listErr = h("div", { id: "list-error" });
  const tbody = h("tbody");
  const more = button("Load more", () => loadMore(), { class: "secondary" });
  more.hidden = true;
  const count = h("span", { class: "muted", id: "count" });
  const folderTitle = h("h2", { id: "folder-title" }, "Contacts");
  const listCard = h(
    "section",
    { class: "card list", "aria-labelledby": "folder-title" },
    h(
      "div",
      { class: "list-head" },
      folderTitle,
      count,
      h("span", { class: "grow" }),
      button("New contact", () => edit(null), { class: "primary" }),
    ),
    h(
      "form",
      { class: "searchbar", role: "search", onsubmit: (e) => (e.preventDefault(), load()) },
      h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search),
      h("div", { class: "field" }, h("label", { for: "order" }, "Sort by"), order),
      h(
        "details",
        { class: "adv" },
        h("summary", {}, "$filter"),
        h("div", { class: "field" }, h("label", { for: "filter" }, "Filter expression (replaces the search)"), filterBox),
      ),
      h("button", { type: "submit" }, "Search"),
    ),
    queryLine,
    listErr,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "grid", id: "contacts" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Email"), h("th", { scope: "col", class: "hide-s" }, "Company"), h("th", { scope: "col", class: "hide-s" }, "Mobile"), h("th", { scope: "col", class: "hide-m" }, "Modified"))),
        tbody,
      ),
    ),
    more,
  );
  const editor = h("section", { class: "card editor", id: "editor", "aria-label": "Contact", hidden: true });
  root.append(h("div", { class: "layout" }, side, h("div", { class: "content" }, listCard, editor)));
  order.addEventListener("change", () => load());

  async function loadFolders() {
    clear(tree);
    tree.append(folderNode({ id: "", displayName: "Contacts" }, false));
    try {
      const folders = await api.all(`${mbx}/contactFolders?$top=100`);
      for (const f of folders) tree.append(folderNode(f, true));
      showError(treeErr, null);
    } catch (e) {
      showError(treeErr, e);
    }
  }

  function folderNode(f, expandable) {
    const li = h("li", { role: "treeitem", "aria-selected": String(f.id === state.folder), "aria-expanded": expandable ? "false" : undefined });
    const sub = h("ul", { role: "group", hidden: true });
    const toggle = expandable
      ? button("▸", async () => {
          const open = li.getAttribute("aria-expanded") === "true";
          li.setAttribute("aria-expanded", String(!open));
          toggle.textContent = open ? "▸" : "▾";
          sub.hidden = open;
          if (!open && !sub.childElementCount) {
            try {
              const kids = await api.all(`${mbx}/contactFolders/${api.seg(f.id)}/childFolders?$top=100`);
              for (const k of kids) sub.append(folderNode(k, true));
              if (!kids.length) sub.append(h("li", { class: "muted small" }, "No subfolders"));
            } catch (e) {
              sub.append(h("li", {}, errorBox(e)));
            }
          }
        }, { class: "toggle", label: `Show the subfolders of ${f.displayName}` })
      : h("span", { class: "toggle-pad" });
    const pick = button(f.displayName, () => {
      state.folder = f.id;
      state.folderName = f.displayName;
      folderActions.hidden = !f.id; // the default folder is neither renamed nor deleted
      for (const n of tree.querySelectorAll("[role=treeitem]")) n.setAttribute("aria-selected", "false");
      for (const b of tree.querySelectorAll("button.folder")) b.tabIndex = -1;
      li.setAttribute("aria-selected", "true");
      pick.tabIndex = 0;
      editor.hidden = true;
      load();
    }, { class: "folder" });
    pick.dataset.folderId = f.id;
    pick.tabIndex = f.id === state.folder ? 0 : -1; // one tab stop; arrows move within the tree
    li.append(h("div", { class: "node" }, toggle, pick), sub);
    return li;
  }

  async function createFolder(e) {
    e.preventDefault();
    const form = e.target;
    const name = form.displayName.value.trim();
    const path = state.folder ? `${mbx}/contactFolders/${api.seg(state.folder)}/childFolders` : `${mbx}/contactFolders`;
    try {
      await api.post(path, { displayName: name });
      form.reset();
      status(`Folder ${name} created`);
      loadFolders();
    } catch (err) {
      showError(treeErr, err);
    }
  }

  async function renameFolder() {
    const name = prompt("New name of the folder", state.folderName);
    if (!name || name === state.folderName) return;
    try {
      await api.patch(`${mbx}/contactFolders/${api.seg(state.folder)}`, { displayName: name });
      state.folderName = name;
      status(`Folder renamed to ${name}`);
      showError(treeErr, null);
      await loadFolders();
      folderTitle.textContent = name;
    } catch (err) {
      showError(treeErr, err);
    }
  }

  async function deleteFolder() {
    if (!confirm(`Delete the folder ${state.folderName} with its contacts and subfolders?`)) return;
    try {
      await api.del(`${mbx}/contactFolders/${api.seg(state.folder)}`);
      status(`Folder ${state.folderName} deleted`);
      state.folder = "";
      state.folderName = "Contacts";
      folderActions.hidden = true;
      editor.hidden = true;
      showError(treeErr, null);
      await loadFolders();
      await load();
    } catch (err) {
      showError(treeErr, err);
    }
  }

  function listURL() {
    const q = new URLSearchParams();
    const filter = filterBox.value.trim() || searchFilter(search.value);
    if (filter) q.set("$filter", filter);
    q.set("$orderby", order.value);
    q.set("$top", "50");
    q.set("$count", "true");
    return folderContacts(mbx, state.folder) + "?" + q.toString().replace(/%24/g, "$").replace(/\+/g, "%20");
  }

  async function load() {
    folderTitle.textContent = state.folderName;
    const u = listURL();
    queryLine.textContent = "GET " + api.config.apiBase + decodeURIComponent(u);
    clear(tbody);
    more.hidden = true;
    count.textContent = "";
    try {
      const page = await api.get(u);
      showError(listErr, null);
      render(page, true);
    } catch (e) {
      showError(listErr, e);
    }
  }

  async function loadMore() {
    await busy(more, async () => {
      try {
        render(await api.get(state.next), false);
      } catch (e) {
        showError(listErr, e);
      }
    });
  }

  function render(page, first) {
    if (first) state.contacts = [];
    state.contacts.push(...page.value);
    state.next = page["@odata.nextLink"] || null;
    more.hidden = !state.next;
    if (page["@odata.count"] !== undefined) count.textContent = `${page["@odata.count"]} contact${page["@odata.count"] === 1 ? "" : "s"}`;
    for (const c of page.value) tbody.append(row(c));
    if (first && !page.value.length) tbody.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No contacts here.")));
  }

  function row(c) {
    const mail = (c.emailAddresses || [])[0];
    return h(
      "tr",
      { dataset: { id: c.id } },
      h("td", {}, button(c.displayName || "(no name)", () => edit(c), { class: "link" })),
      h("td", {}, mail ? mail.address : ""),
      h("td", { class: "hide-s" }, c.companyName || ""),
      h("td", { class: "hide-s" }, c.mobilePhone || ""),
      h("td", { class: "hide-m muted" }, fmtDate(c.lastModifiedDateTime)),
    );
  }

  function edit(c) {
    state.editing = c;
    editor.hidden = false;
    clear(editor, contactForm(c, {
      path: c ? `${mbx}/contacts/${api.seg(c.id)}` : folderContacts(mbx, state.folder),
      onSaved: (saved) => {
        status(c ? "Contact saved" : "Contact created");
        load();
        edit(saved);
      },
      onDeleted: () => {
        status("Contact deleted");
        editor.hidden = true;
        load();
      },
      onClose: () => (editor.hidden = true),
    }));
    editor.querySelector("#contact-form input").focus();
  }

  await loadFolders();
  await load();
}

// The contact fields the editor shows, as [property, label, kind].
const FIELDS = [
  ["givenName", "First name"],
  ["surname", "Last name"],
  ["displayName", "Display name"],
  ["email", "Email address", "email"],
  ["mobilePhone", "Mobile phone"],
  ["businessPhones", "Business phones", "list"],
  ["companyName", "Company"],
  ["jobTitle", "Job title"],
  ["department", "Department"],
  ["birthday", "Birthday", "date"],
  ["categories", "Categories", "list"],
  ["personalNotes", "Notes", "textarea"],
];

function formValue(c, [name, , kind]) {
  if (!c) return "";
  if (kind === "email") return ((c.emailAddresses || [])[0] || {}).address || "";
  if (kind === "list") return (c[name] || []).join(", ");
  if (kind === "date") return c[name] ? String(c[name]).replace(/T00:00:00Z$/, "") : "";
  return c[name] || "";
}

// bodyOf turns the form into a Graph contact body: all fields for a new
// contact, only the changed ones for an edit. A birthday given as a plain
// date gets midnight UTC, as Outlook stores it; anything else is sent as
// typed, and the server's answer tells what is wrong with it.
function bodyOf(values, c) {
  const body = {};
  for (const f of FIELDS) {
    const [name, , kind] = f;
    const v = values[name];
    if (c && v === formValue(c, f)) continue;
    if (!c && v === "") continue;
    if (kind === "email") {
      // The form edits the first address; the others stay as they are.
      const rest = c ? (c.emailAddresses || []).slice(1) : [];
      const name = values.displayName || [values.givenName, values.surname].filter(Boolean).join(" ");
      body.emailAddresses = v ? [{ address: v, name }, ...rest] : rest;
    }
    else if (kind === "list") body[name] = splitList(v);
    else if (kind === "date") body[name] = v === "" ? null : /^\d{4}-\d{2}-\d{2}$/.test(v) ? v + "T00:00:00Z" : v;
    else body[name] = v === "" && c ? null : v;
  }
  return body;
}

function contactForm(c, { path, onSaved, onDeleted, onClose }) {
  const err = h("div", { class: "form-error" });
  const fields = FIELDS.map((f) =>
    field(f[1], f[0], {
      value: formValue(c, f),
      type: f[2] === "textarea" ? "textarea" : f[2] === "email" ? "email" : "text",
      hint: f[2] === "list" ? "Separate with commas" : f[2] === "date" ? "YYYY-MM-DD" : undefined,
      class: f[2] === "textarea" ? "wide" : undefined,
      inputmode: f[2] === "date" ? "numeric" : undefined,
    }),
  );
  const form = h("form", { class: "grid-form", novalidate: true, id: "contact-form" }, fields);
  const save = h("button", { type: "submit", class: "primary" }, c ? "Save" : "Create");
  const actions = h("div", { class: "actions" }, save, button("Close", onClose, { class: "secondary" }));
  if (c) {
    actions.append(
      h("span", { class: "grow" }),
      button("Delete", async (e) => {
        if (!confirm(`Delete ${c.displayName || "this contact"}?`)) return;
        await busy(e.target, async () => {
          try {
            await api.del(path);
            onDeleted();
          } catch (x) {
            showError(err, x);
          }
        });
      }, { class: "danger" }),
    );
  }
  form.append(err, actions);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = bodyOf(formValues(form), c);
    if (c && !Object.keys(body).length) {
      status("Nothing changed");
      return;
    }
    await busy(save, async () => {
      try {
        const saved = c ? await api.patch(path, body) : await api.post(path, body);
        showError(err, null);
        onSaved(saved);
      } catch (x) {
        showError(err, x);
      }
    });
  });
  const meta = c
    ? h("p", { class: "muted small" }, `id ${c.id} · changeKey ${c.changeKey} · modified ${fmtDate(c.lastModifiedDateTime)}`)
    : null;
  const title = h("h2", {}, c ? c.displayName || "Contact" : "New contact");
  return [c ? h("div", { class: "contact-head" }, photo(path, c), h("div", {}, title, meta)) : title, form];
}

// photo shows a contact's photo, with upload and remove: PUT and DELETE
// of …/photo/$value, a change like any other.
function photo(path, c) {
  const img = h("img", { class: "avatar", alt: `Photo of ${c.displayName || "the contact"}`, width: 72, height: 72, hidden: true });
  const none = h("div", { class: "avatar none", "aria-hidden": "true" }, initials(c));
  const file = h("input", { type: "file", id: "photo-file", accept: "image/png,image/jpeg", class: "sr" });
  const err = h("div");
  const remove = button("Remove photo", async (e) => {
    await busy(e.target, async () => {
      try {
        await api.binary("DELETE", path + "/photo/$value");
        status("Photo removed");
        await show();
      } catch (x) {
        showError(err, x);
      }
    });
  }, { class: "link small" });
  let objectURL;
  async function show() {
    try {
      const blob = await api.binary("GET", path + "/photo/$value");
      if (objectURL) URL.revokeObjectURL(objectURL);
      objectURL = blob ? URL.createObjectURL(blob) : null;
      img.hidden = !blob;
      none.hidden = !!blob;
      remove.hidden = !blob;
      if (blob) img.src = objectURL;
      showError(err, null);
    } catch (x) {
      showError(err, x);
    }
  }
  file.addEventListener("change", async () => {
    const f = file.files[0];
    if (!f) return;
    try {
      await api.binary("PUT", path + "/photo/$value", f);
      status("Photo saved");
      await show();
    } catch (x) {
      showError(err, x);
    }
    file.value = "";
  });
  show();
  return h("div", { class: "photo" }, img, none,
    h("div", { class: "photo-actions" }, file, h("label", { for: "photo-file", class: "link small" }, "Upload photo"), remove), err);
}

function initials(c) {
  const s = [c.givenName, c.surname].filter(Boolean).map((x) => x[0]).join("") || (c.displayName || "?")[0];
  return s.toUpperCase();
}
