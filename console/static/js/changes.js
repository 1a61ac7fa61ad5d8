// The change feed: delta rounds over a collection, page by page, with
// tombstones, the kept deltaLink, and a live mode that follows it.
import * as api from "./api.js";
import { busy, button, clear, errorBox, h, status } from "./ui.js";
import { folderContacts, mailboxPath, userPicker } from "./mailbox.js";

const LINK_KEY = "contactgraph.console.delta:";

export async function changesView(root) {
  const head = h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Change feed"));
  root.append(head);
  if (api.isApp()) head.append(await userPicker(() => changesView(clear(root))));
  const mbx = mailboxPath();

  const collections = [];
  if (mbx) {
    collections.push([folderContacts(mbx, "") + "/delta", "Contacts (default folder)"]);
    try {
      for (const f of await api.all(`${mbx}/contactFolders?$top=100`)) {
        collections.push([folderContacts(mbx, f.id) + "/delta", `Contacts in ${f.displayName}`]);
      }
    } catch {
      // The picker still offers the default folder.
    }
    collections.push([`${mbx}/contactFolders/delta`, "Contact folders"]);
  }
  collections.push(["/contacts/delta", "Org contacts"]);

  const sel = h("select", { id: "collection", name: "collection" }, collections.map(([v, t]) => h("option", { value: v }, t)));
  const size = h("input", { id: "pagesize", name: "pagesize", type: "number", min: 1, max: 200, value: 10, inputmode: "numeric" });
  const start = button("Start a round", () => busy(start, () => run(sel.value, "first")), { class: "primary" });
  const nextBtn = button("Next page", () => busy(nextBtn, () => follow(false)));
  const allBtn = button("Follow all pages", () => busy(allBtn, () => follow(true)), { class: "secondary" });
  const again = button("Check for changes", () => busy(again, () => run(state.deltaLink, "delta")));
  const live = h("input", { type: "checkbox", id: "live", name: "live" });
  const linkOut = h("input", { id: "deltalink", readonly: true, value: "", "aria-describedby": "deltalink-hint" });
  const summary = h("p", { class: "muted", id: "feed-summary" }, "No round yet.");
  const feed = h("ol", { class: "feed", id: "feed", "aria-label": "Delta pages, newest first" });
  const state = { nextLink: null, deltaLink: null, round: 0, pages: 0, timer: null };

  root.append(
    h("section", { class: "card" },
      h("div", { class: "searchbar" },
        h("div", { class: "field grow" }, h("label", { for: "collection" }, "Collection"), sel),
        h("div", { class: "field narrowfield" }, h("label", { for: "pagesize" }, "Page size"), size),
        start),
      h("div", { class: "actions" }, nextBtn, allBtn, again,
        h("div", { class: "field check" }, live, h("label", { for: "live" }, "Live: check every 2 s"))),
      h("div", { class: "field" }, h("label", { for: "deltalink" }, "Kept deltaLink"), linkOut,
        h("small", { class: "hint", id: "deltalink-hint" }, "The console keeps the last deltaLink of each collection for this session; the next round starts from it.")),
      summary),
    feed,
  );

  function restore() {
    state.nextLink = null;
    state.deltaLink = sessionStorage.getItem(LINK_KEY + sel.value);
    linkOut.value = state.deltaLink || "";
    buttons();
  }
  function buttons() {
    nextBtn.disabled = allBtn.disabled = !state.nextLink;
    again.disabled = !state.deltaLink || !!state.nextLink;
    live.disabled = !state.deltaLink;
  }
  sel.addEventListener("change", () => {
    clear(feed);
    summary.textContent = "No round yet.";
    restore();
  });
  live.addEventListener("change", () => {
    clearInterval(state.timer);
    if (live.checked) state.timer = setInterval(tick, 2000);
  });

  let ticking = false;
  async function tick() {
    if (ticking || state.nextLink || !state.deltaLink) return;
    ticking = true;
    try {
      await run(state.deltaLink, "live");
    } finally {
      ticking = false;
    }
  }

  // run calls one delta URL (a fresh round's start, or a deltaLink) and
  // shows the page.
  async function run(u, how) {
    state.pages = 0;
    await fetchPage(u, how);
  }

  async function follow(toEnd) {
    do {
      await fetchPage(state.nextLink, "next");
    } while (toEnd && state.nextLink);
  }

  async function fetchPage(u, how) {
    const n = Math.max(1, Math.min(200, Number(size.value) || 10));
    let res;
    try {
      res = await api.request("GET", u, { headers: { Prefer: `odata.maxpagesize=${n}` } });
    } catch (e) {
      const item = h("li", { class: "page error" }, h("div", { class: "page-head" }, h("strong", {}, "Delta call failed"), " ", h("span", { class: "muted" }, shortURL(u))), errorBox(e));
      if (e.status === 410 || (e.code || "").toLowerCase() === "syncstatenotfound") {
        item.append(h("p", {}, "The token can no longer be used: start a new round to sync again."));
        state.deltaLink = null;
        sessionStorage.removeItem(LINK_KEY + sel.value);
        linkOut.value = "";
      }
      live.checked = false; // a live view stops at an error, rather than repeating it
      clearInterval(state.timer);
      feed.prepend(item);
      buttons();
      return;
    }
    const page = res.body;
    const items = page.value || [];
    // A live check that found nothing is no round to show.
    if (how === "live" && !items.length && !page["@odata.nextLink"]) {
      state.deltaLink = page["@odata.deltaLink"] || state.deltaLink;
      sessionStorage.setItem(LINK_KEY + sel.value, state.deltaLink);
      linkOut.value = state.deltaLink;
      return;
    }
    if (state.pages === 0) state.round++;
    state.pages++;
    state.nextLink = page["@odata.nextLink"] || null;
    if (page["@odata.deltaLink"]) {
      state.deltaLink = page["@odata.deltaLink"];
      sessionStorage.setItem(LINK_KEY + sel.value, state.deltaLink);
      linkOut.value = state.deltaLink;
    }
    buttons();
    const removed = items.filter((x) => x["@removed"]).length;
    summary.textContent = `Round ${state.round}, page ${state.pages}: ${plural(items.length, "item")} (${removed} removed). ` +
      (state.nextLink ? "More pages: follow the nextLink." : "Round complete: deltaLink kept.");
    if (how === "live") status(`${plural(items.length, "change")} arrived`);
    const kind = how === "first" ? "first round" : how === "next" ? "nextLink" : how === "live" ? "live" : "deltaLink";
    feed.prepend(
      h("li", { class: "page" + (how === "live" ? " live" : "") },
        h("div", { class: "page-head" },
          h("strong", {}, `Round ${state.round} · page ${state.pages}`), " ",
          h("span", { class: "badge" }, kind), " ",
          h("span", { class: "muted" }, `${plural(items.length, "item")}, ${removed} removed`), " ",
          h("span", { class: "muted small" }, new Date().toLocaleTimeString()),
          res.headers.get("preference-applied") ? h("span", { class: "muted small" }, " · " + res.headers.get("preference-applied")) : null),
        items.length ? h("ul", { class: "changes" }, items.map(change)) : h("p", { class: "muted small" }, "No changes."),
        h("div", { class: "muted small link-line" }, state.nextLink ? "@odata.nextLink " + shortURL(state.nextLink) : "@odata.deltaLink " + shortURL(page["@odata.deltaLink"] || ""))));
  }

  restore();
  return { stop: () => clearInterval(state.timer) };
}

function change(x) {
  if (x["@removed"]) {
    return h("li", { class: "tomb" }, h("span", { class: "badge danger" }, `removed: ${x["@removed"].reason}`), " ", h("code", {}, x.id));
  }
  const name = x.displayName || x.id;
  const mail = x.emailAddresses && x.emailAddresses[0] ? x.emailAddresses[0].address : x.mail;
  return h("li", {}, h("span", { class: "badge ok" }, "item"), " ", h("strong", {}, name), mail ? h("span", { class: "muted" }, " " + mail) : null,
    x.jobTitle ? h("span", { class: "muted" }, " · " + x.jobTitle) : null,
    h("code", { class: "small muted id" }, x.id));
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function shortURL(u) {
  try {
    const p = new URL(u, location.href);
    const s = p.pathname + p.search;
    return s.length > 110 ? s.slice(0, 107) + "…" : s;
  } catch {
    return u;
  }
}
