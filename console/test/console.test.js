"use strict";

// The console in a real browser against the real server: sign in, write
// through the console and read through the API (and back), the change
// feed, validation errors, injected faults, deleted items. On SQLite the
// tests also take screenshots of the main views: into a temporary
// directory, or into CONSOLE_SCREENSHOTS when it names one (the README's
// are made with CONSOLE_SCREENSHOTS=../../docs).

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");

const { Server, launch, receiver, stores } = require("./harness.js");

const DOCS = process.env.CONSOLE_SCREENSHOTS
  ? path.resolve(process.env.CONSOLE_SCREENSHOTS)
  : fs.mkdtempSync(path.join(os.tmpdir(), "contactgraph-console-"));
const TIMEOUT = 30000; // generous: CI machines are shared

// waitFor polls a condition of the test's own (not the page's).
async function waitFor(cond, what, ms = TIMEOUT) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const store of stores()) {
  describe(`console (${store})`, { timeout: 5 * 60 * 1000 }, () => {
    let server, browser, context, page, apiToken;
    let promptAnswer = ""; // what a prompt() of the page is answered
    const errors = [];

    // shot checks the view's controls are labelled, then saves a screenshot
    // of the page for the README (SQLite run only).
    const shot = async (name) => {
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll("input, select, textarea, button")]
          .filter((el) => el.offsetParent !== null)
          .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !(el.textContent || "").trim())
          .map((el) => el.outerHTML.slice(0, 120)),
      );
      assert.deepEqual(unlabelled, [], `controls without a label in the ${name} view`);
      if (store !== "sqlite") return;
      await page.evaluate(() => document.getElementById("status").classList.remove("show"));
      await page.waitForTimeout(250); // the toast's transition
      await page.screenshot({ path: path.join(DOCS, `console-${name}.png`) });
    };

    before(async () => {
      server = await Server.start(store);
      browser = await launch();
      context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      context.setDefaultTimeout(TIMEOUT);
      page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
      });
      page.on("dialog", (d) => d.accept(d.type() === "prompt" ? promptAnswer : undefined));
      apiToken = await server.token("--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite Directory.ReadWrite.All");
    });

    after(async () => {
      if (browser) await browser.close();
      if (server) await server.stop();
    });

    test("sign in with a pasted token; sign out clears it", async () => {
      const token = await server.token("--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite Directory.ReadWrite.All Emulator.Control");
      await page.goto(server.origin + "/console/");
      await page.getByLabel("Access token").fill("not a token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#signin-error").getByText("That is not a token").waitFor();
      await page.getByLabel("Access token").fill(token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Mailbox", level: 1 }).waitFor();
      assert.equal(await page.locator("#who-name").textContent(), "demo@contoso.com");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
      await page.reload();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
    });

    test("the link serve prints opens the console signed in", async () => {
      await page.goto(server.consoleLink);
      await page.getByRole("heading", { name: "Mailbox", level: 1 }).waitFor();
      assert.doesNotMatch(page.url(), /token=/, "the token stays in the address bar");
      await page.getByRole("link", { name: "Emulator" }).waitFor();
    });

    test("a contact created in the console is there through the API", async () => {
      await page.getByRole("button", { name: "New contact" }).click();
      const form = page.locator("#contact-form");
      await form.getByLabel("First name").fill("Ada");
      await form.getByLabel("Last name").fill("Lovelace");
      await form.getByLabel("Email address").fill("ada@example.com");
      await form.getByLabel("Company").fill("Analytical Engines");
      await form.getByLabel("Birthday").fill("1815-12-10");
      await form.getByLabel("Categories").fill("VIP, Math");
      await form.getByRole("button", { name: "Create" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada Lovelace" }).waitFor();
      const r = await server.api(apiToken, "GET", "/me/contacts?$filter=" + encodeURIComponent("emailAddresses/any(a:a/address eq 'ada@example.com')"));
      assert.equal(r.status, 200);
      assert.equal(r.body.value.length, 1);
      const c = r.body.value[0];
      assert.equal(c.displayName, "Ada Lovelace");
      assert.equal(c.companyName, "Analytical Engines");
      assert.equal(c.birthday, "1815-12-10T00:00:00Z");
      assert.deepEqual(c.categories, ["VIP", "Math"]);
    });

    test("search and sort use $filter and $orderby", async () => {
      for (const [g, s] of [["Alan", "Turing"], ["Grace", "Hopper"]]) {
        const r = await server.api(apiToken, "POST", "/me/contacts", { givenName: g, surname: s, companyName: g === "Alan" ? "Bletchley" : "Navy" });
        assert.equal(r.status, 201);
      }
      await page.getByLabel("Search", { exact: true }).fill("Gra");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.locator("#query").getByText("startswith(displayName,'Gra')").waitFor();
      await page.waitForFunction(() => document.querySelectorAll("#contacts tbody tr").length === 1);
      await page.locator("#contacts").getByText("Grace Hopper").waitFor();
      await page.getByLabel("Search", { exact: true }).fill("");
      await page.getByLabel("Sort by").selectOption("displayName desc");
      await page.waitForFunction(() => document.querySelectorAll("#contacts tbody tr").length === 3);
      const names = await page.locator("#contacts tbody tr td:first-child").allTextContents();
      assert.deepEqual(names, ["Grace Hopper", "Alan Turing", "Ada Lovelace"]);
      await page.getByLabel("Sort by").selectOption("displayName asc");
      await page.waitForFunction(() => document.querySelector("#contacts tbody tr td")?.textContent === "Ada Lovelace");
    });

    test("a bad field shows the server's validation error", async () => {
      await page.locator("#contacts").getByRole("button", { name: "Ada Lovelace" }).click();
      const form = page.locator("#contact-form");
      await form.getByLabel("Email address").fill("not-an-address");
      await form.getByRole("button", { name: "Save" }).click();
      await form.getByRole("alert").getByText("The email address 'not-an-address' of property 'emailAddresses' is not valid.").waitFor();
      await form.getByRole("alert").getByText("400 ErrorInvalidRequest").waitFor();
      await form.getByLabel("Email address").fill("ada@example.com");
      await form.getByLabel("Birthday").fill("10/12/1815");
      await form.getByRole("button", { name: "Save" }).click();
      await form.getByRole("alert").getByText("Cannot convert the literal '10/12/1815'").waitFor();
      await form.getByRole("button", { name: "Close" }).click();
    });

    test("an edit shows up in the change feed; a delete is a tombstone", async () => {
      await page.getByRole("link", { name: "Change feed" }).click();
      await page.getByRole("heading", { name: "Change feed", level: 1 }).waitFor();
      await page.getByLabel("Page size").fill("2");
      await page.getByRole("button", { name: "Start a round" }).click();
      await page.locator("#feed-summary").getByText("page 1: 2 items").waitFor();
      await page.getByRole("button", { name: "Follow all pages" }).click();
      await page.locator("#feed-summary").getByText("Round complete").waitFor();
      const link = await page.getByLabel("Kept deltaLink").inputValue();
      assert.match(link, /\$deltatoken=/);

      // Edit in the console's mailbox view, then back to the feed: the
      // deltaLink was kept.
      await page.getByRole("link", { name: "Mailbox" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada Lovelace" }).click();
      const form = page.locator("#contact-form");
      await form.getByLabel("Job title").fill("Countess");
      await form.getByLabel("Display name").fill("Ada King");
      await form.getByRole("button", { name: "Save" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();
      await page.getByRole("link", { name: "Change feed" }).click();
      assert.equal(await page.getByLabel("Kept deltaLink").inputValue(), link);
      await page.getByRole("button", { name: "Check for changes" }).click();
      const first = page.locator("#feed li.page").first();
      await first.getByText("Ada King").waitFor();
      await first.getByText("Countess").waitFor();
      await first.getByText("1 item, 0 removed").waitFor();

      // Live: a change made elsewhere arrives by itself.
      await page.getByLabel("Live: check every 2 s").check();
      const alan = (await server.api(apiToken, "GET", "/me/contacts?$filter=" + encodeURIComponent("givenName eq 'Alan'"))).body.value[0];
      assert.equal((await server.api(apiToken, "DELETE", `/me/contacts/${alan.id}`)).status, 204);
      const live = page.locator("#feed li.page.live").first();
      await live.getByText("removed: deleted").waitFor();
      await live.getByText(alan.id).waitFor();
      await page.getByLabel("Live: check every 2 s").uncheck();
      await shot("changes");
    });

    test("an injected fault is shown as an error", async () => {
      await page.getByRole("link", { name: "Emulator" }).click();
      await page.getByRole("heading", { name: "Emulator controls" }).waitFor();
      const faults = page.getByRole("region", { name: "Faults", exact: true });
      await faults.getByLabel("Status").selectOption("503");
      await faults.getByLabel("Count").fill("1");
      await faults.getByLabel("Path prefix").fill("/me/contacts");
      await faults.getByRole("button", { name: "Queue fault" }).click();
      await page.locator("#status").getByText("Queued 1 × 503").waitFor();
      await shot("emulator");
      await page.getByRole("link", { name: "Mailbox" }).click();
      await page.locator("#list-error").getByText("503 serviceNotAvailable").waitFor();
      await page.locator("#list-error").getByText("The service is temporarily unavailable").waitFor();
      await page.locator("#list-error").getByText("injected by the emulator").waitFor();
      // Used up: the next search works.
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();
      assert.equal(await page.locator("#list-error").textContent(), "");
    });

    test("a forced resync ends the change feed's deltaLink with the 410", async () => {
      await page.getByRole("link", { name: "Emulator" }).click();
      await page.getByRole("region", { name: "Force resync" }).getByRole("button", { name: "Force resync" }).click();
      await page.locator("#status").getByText("Delta tokens invalidated").waitFor();
      await page.getByRole("link", { name: "Change feed" }).click();
      await page.getByRole("button", { name: "Check for changes" }).click();
      const failed = page.locator("#feed li.page.error").first();
      await failed.getByText("410 resyncRequired").waitFor();
      await failed.getByText("start a new round").waitFor();
      assert.equal(await page.getByLabel("Kept deltaLink").inputValue(), "");
      await page.getByRole("button", { name: "Start a round" }).click();
      await page.locator("#feed-summary").getByText("Round complete").waitFor();
      await page.getByRole("link", { name: "Mailbox" }).click();
    });

    test("folders: create one, pick it, create a contact in it", async () => {
      await page.getByPlaceholder("New folder").fill("Clients");
      await page.getByRole("button", { name: "Add" }).click();
      // The keyboard: the tree is one tab stop, arrows move in it, Enter opens a folder.
      await page.getByRole("tree").getByRole("button", { name: "Clients", exact: true }).waitFor();
      await page.getByRole("tree").getByRole("button", { name: "Contacts", exact: true }).focus();
      await page.keyboard.press("ArrowDown");
      assert.equal(await page.evaluate(() => document.activeElement.textContent), "Clients");
      await page.keyboard.press("Enter");
      await page.locator("#folder-title").getByText("Clients").waitFor();
      await page.locator("#contacts").getByText("No contacts here.").waitFor();
      await page.getByRole("button", { name: "New contact" }).click();
      await page.locator("#contact-form").getByLabel("First name").fill("Katherine");
      await page.locator("#contact-form").getByLabel("Last name").fill("Johnson");
      await page.locator("#contact-form").getByRole("button", { name: "Create" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Katherine Johnson" }).waitFor();
      const folders = (await server.api(apiToken, "GET", "/me/contactFolders")).body.value;
      const clients = folders.find((f) => f.displayName === "Clients");
      const inside = (await server.api(apiToken, "GET", `/me/contactFolders/${clients.id}/contacts`)).body.value;
      assert.deepEqual(inside.map((c) => c.displayName), ["Katherine Johnson"]);
      // Rename, then a folder of its own to delete.
      promptAnswer = "Key clients";
      await page.getByRole("button", { name: "Rename the selected folder" }).click();
      await page.getByRole("tree").getByRole("button", { name: "Key clients", exact: true }).waitFor();
      await page.locator("#folder-title").getByText("Key clients").waitFor();
      await page.getByRole("tree").getByRole("button", { name: "Contacts", exact: true }).click();
      await page.getByPlaceholder("New folder").fill("Old");
      await page.getByRole("button", { name: "Add" }).click();
      await page.getByRole("tree").getByRole("button", { name: "Old", exact: true }).click();
      await page.getByRole("button", { name: "Delete the selected folder" }).click();
      await page.locator("#status").getByText("Folder Old deleted").waitFor();
      await page.locator("#folder-title").getByText("Contacts").waitFor();
      const names = (await server.api(apiToken, "GET", "/me/contactFolders")).body.value.map((f) => f.displayName);
      assert.deepEqual(names, ["Key clients"]);

      await page.getByRole("tree").getByRole("button", { name: "Contacts", exact: true }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada King" }).click();
      await page.locator("#contact-form").waitFor();

      // A photo, uploaded in the console, is the contact's photo in the API.
      const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
      await page.locator("#photo-file").setInputFiles({ name: "ada.png", mimeType: "image/png", buffer: png });
      await page.locator("#status").getByText("Photo saved").waitFor();
      await page.getByRole("img", { name: "Photo of Ada King" }).waitFor();
      const ada = (await server.api(apiToken, "GET", "/me/contacts?$filter=" + encodeURIComponent("displayName eq 'Ada King'"))).body.value[0];
      const meta = await server.api(apiToken, "GET", `/me/contacts/${ada.id}/photo`);
      assert.equal(meta.status, 200);
      assert.equal(meta.body["@odata.mediaContentType"], "image/png");
      await page.getByRole("button", { name: "Remove photo" }).click();
      await page.locator("#status").getByText("Photo removed").waitFor();
      assert.equal((await server.api(apiToken, "GET", `/me/contacts/${ada.id}/photo`)).status, 404);
      await page.locator("#contact-form").getByRole("button", { name: "Close" }).click();
    });

    test("org contacts: create, delete, restore from deleted items, purge", async () => {
      await page.getByRole("link", { name: "Org contacts" }).click();
      await page.getByRole("heading", { name: "Org contacts", level: 1 }).waitFor();
      for (const name of ["Contoso Support", "Fabrikam Sales"]) {
        await page.getByRole("button", { name: "New org contact" }).click();
        const form = page.locator("#org-form");
        await form.getByLabel("Display name").fill(name);
        await form.getByLabel("Email address").fill(name.toLowerCase().replace(" ", ".") + "@example.com");
        await form.getByRole("button", { name: "Create" }).click();
        await page.locator("#org-contacts").getByRole("button", { name }).waitFor();
      }
      await page.getByLabel("Search", { exact: true }).fill("Fab");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.waitForFunction(() => document.querySelectorAll("#org-contacts tbody tr").length === 1);
      await page.locator("#org-contacts").getByRole("button", { name: "Fabrikam Sales" }).click();
      await page.locator("#org-form").getByRole("button", { name: "Delete" }).click();
      await page.locator("#org-contacts").getByText("No org contacts.").waitFor();
      await page.getByLabel("Search", { exact: true }).fill("");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.locator("#org-contacts").getByRole("button", { name: "Contoso Support" }).click();
      await page.locator("#org-form").getByRole("button", { name: "Delete" }).click();
      await page.locator("#org-contacts").getByText("No org contacts.").waitFor();

      await page.getByRole("tab", { name: "Deleted items" }).click();
      await page.locator("#deleted-items").getByText("Fabrikam Sales").waitFor();
      await page.locator("#deleted-items").getByText("Contoso Support").waitFor();
      await shot("deleted");
      await page.getByRole("button", { name: "Restore Fabrikam Sales" }).click();
      await page.locator("#status").getByText("Fabrikam Sales restored").waitFor();
      await page.getByRole("button", { name: "Purge Contoso Support" }).click();
      await page.locator("#deleted-items").getByText("Nothing deleted.").waitFor();
      const r = await server.api(apiToken, "GET", "/contacts");
      assert.deepEqual(r.body.value.map((o) => o.displayName), ["Fabrikam Sales"]);
      const d = await server.api(apiToken, "GET", "/directory/deletedItems/microsoft.graph.orgContact");
      assert.deepEqual(d.body.value, []);
      await page.getByRole("tab", { name: "Directory" }).click();
      await page.locator("#org-contacts").getByRole("button", { name: "Fabrikam Sales" }).waitFor();
    });

    test("org contacts in the change feed: a soft delete is reason changed", async () => {
      await page.getByRole("link", { name: "Change feed" }).click();
      await page.getByLabel("Collection").selectOption({ label: "Org contacts" });
      await page.getByRole("button", { name: "Start a round" }).click();
      await page.locator("#feed li.page").first().getByText("Fabrikam Sales").waitFor();
      const fab = (await server.api(apiToken, "GET", "/contacts")).body.value.find((o) => o.displayName === "Fabrikam Sales");
      assert.equal((await server.api(apiToken, "DELETE", `/contacts/${fab.id}`)).status, 204);
      await page.getByRole("button", { name: "Check for changes" }).click();
      await page.locator("#feed li.page").first().getByText("removed: changed").waitFor();
      assert.equal((await server.api(apiToken, "POST", `/directory/deletedItems/${fab.id}/restore`)).status < 300, true);
      await page.getByRole("button", { name: "Check for changes" }).click();
      await page.locator("#feed li.page").first().getByText("Fabrikam Sales").waitFor();
    });

    test("subscriptions: subscribe, see it listed, delete it", async () => {
      const rcv = await receiver();
      try {
        await page.getByRole("link", { name: "Subscriptions" }).click();
        await page.locator("#subscriptions").getByText("No subscriptions.").waitFor();
        const form = page.locator("#sub-form");
        await form.getByLabel("Notification URL", { exact: true }).fill(rcv.url);
        await form.getByRole("button", { name: "Subscribe" }).click();
        await page.locator("#subscriptions").getByText("me/contacts").waitFor();
        await page.locator("#subscriptions").getByText("active").waitFor();
        const subs = (await server.api(apiToken, "GET", "/subscriptions")).body.value;
        assert.equal(subs.length, 1);

        // Deliveries: one accepted, then one the emulator makes fail.
        assert.equal((await server.api(apiToken, "POST", "/me/contacts", { givenName: "Mary", surname: "Somerville" })).status, 201);
        await waitFor(() => rcv.got.length === 1, "the first notification");
        const ctl = await server.token("--app", "console-test", "--roles", "Emulator.Control");
        assert.equal((await server.control(ctl, "POST", "deliveries", { url: rcv.url, count: 1, fail: 503 }).then((r) => r.status)), 204);
        assert.equal((await server.api(apiToken, "POST", "/me/contacts", { givenName: "Emmy", surname: "Noether" })).status, 201);
        await page.getByRole("button", { name: `Deliveries of ${subs[0].id}` }).click();
        const table = page.locator("#deliveries");
        await table.getByText("delivered").first().waitFor();
        for (let i = 0; ; i++) {
          if ((await table.getByText("receiver answered 503 Service Unavailable (injected fault)").count()) > 0) break;
          assert.ok(i < 50, "no failed delivery shown");
          await page.waitForTimeout(200);
          await page.locator("#deliveries-card").getByRole("button", { name: "Refresh" }).click();
        }
        await table.getByText("failed").waitFor();
        await shot("subscriptions");
        await page.getByRole("button", { name: `Renew ${subs[0].id}` }).click();
        await page.locator("#status").getByText("Renewed for a day").waitFor();
        const renewed = (await server.api(apiToken, "GET", `/subscriptions/${subs[0].id}`)).body;
        assert.ok(new Date(renewed.expirationDateTime) > new Date(Date.now() + 23 * 3600000), renewed.expirationDateTime);
        await page.getByRole("button", { name: `Delete ${subs[0].id}` }).click();
        await page.locator("#subscriptions").getByText("No subscriptions.").waitFor();
      } finally {
        rcv.close();
      }
    });

    test("an application token picks the mailbox from the users", async () => {
      const app = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      try {
        const p = await app.newPage();
        p.setDefaultTimeout(TIMEOUT);
        const token = await server.token("--app", "console-admin", "--roles", "Contacts.ReadWrite User.Read.All OrgContact.Read.All");
        await p.goto(`${server.origin}/console/#token=${token}`);
        await p.getByText("An application token reads any mailbox").waitFor();
        await p.getByLabel("Mailbox of").selectOption({ label: "demo <demo@contoso.com>" }).catch(async () => {
          const labels = await p.locator("#user-picker option").allTextContents();
          await p.getByLabel("Mailbox of").selectOption({ label: labels.find((l) => l.includes("demo@contoso.com")) });
        });
        await p.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();
        await p.getByRole("link", { name: "Change feed" }).click();
        await p.getByRole("button", { name: "Start a round" }).click();
        await p.locator("#feed").getByText("Ada King").waitFor();
      } finally {
        await app.close();
      }
    });

    test("screenshots with a seeded data set", async () => {
      await page.getByRole("link", { name: "Emulator" }).click();
      const seed = page.getByRole("region", { name: "Seed" });
      await seed.getByLabel("Folder").fill("Customers");
      await seed.getByLabel("Contacts", { exact: true }).fill("40");
      await seed.getByLabel("Org contacts").fill("25");
      await seed.getByLabel("Random seed").fill("7");
      await seed.getByRole("button", { name: "Seed" }).click();
      await page.locator("#status").getByText("Seeded").waitFor();
      await page.getByRole("link", { name: "Mailbox" }).click();
      await page.getByRole("tree").getByRole("button", { name: "Customers", exact: true }).click();
      await page.locator("#folder-title").getByText("Customers").waitFor();
      await page.waitForFunction(() => document.querySelectorAll("#contacts tbody tr").length > 10);
      await page.locator("#contacts tbody tr").nth(2).getByRole("button").click();
      await page.locator("#contact-form").waitFor();
      await shot("contacts");
      await page.getByRole("link", { name: "Org contacts" }).click();
      await page.waitForFunction(() => document.querySelectorAll("#org-contacts tbody tr").length > 10);
      await shot("org");
    });

    test("readable on a phone", async () => {
      if (store !== "sqlite") return;
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      const p = await phone.newPage();
      await p.goto(server.consoleLink);
      await p.getByRole("heading", { name: "Mailbox", level: 1 }).waitFor();
      await p.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();
      const overflow = () => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok((await overflow()) <= 0, `the mailbox is ${await overflow()}px wider than a phone`);
      await p.screenshot({ path: path.join(DOCS, "console-phone.png") });
      for (const [view, heading] of [["org", "Org contacts"], ["changes", "Change feed"], ["subscriptions", "Subscriptions"], ["emulator", "Emulator controls"]]) {
        await p.goto(`${server.origin}/console/#/${view}`);
        await p.getByRole("heading", { name: heading, level: 1 }).waitFor();
        if (view === "changes") {
          await p.getByRole("button", { name: "Start a round" }).click();
          await p.locator("#feed li.page").first().waitFor();
        }
        assert.ok((await overflow()) <= 0, `the ${view} view is ${await overflow()}px wider than a phone`);
      }
      await phone.close();
    });

    test("expired tokens: the console shows the 401, and a new token signs in", async () => {
      await page.getByRole("link", { name: "Emulator" }).click();
      await page.getByRole("region", { name: "Expire tokens" }).getByRole("button", { name: "Expire tokens" }).click();
      await page.locator("#status").getByText("Access tokens expired").waitFor();
      await page.getByRole("link", { name: "Mailbox" }).click();
      await page.locator("#list-error").getByText("401 InvalidAuthenticationToken").waitFor();
      const fresh = await server.token("--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Access token").fill(fresh);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();

      // Reset: the tenant is empty.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Access token").fill(await server.token("--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite Emulator.Control"));
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#contacts").getByRole("button", { name: "Ada King" }).waitFor();
      await page.getByRole("link", { name: "Emulator" }).click();
      await page.getByRole("region", { name: "Reset tenant" }).getByRole("button", { name: "Reset tenant" }).click();
      await page.locator("#status").getByText("Tenant reset").waitFor();
      await page.getByRole("link", { name: "Mailbox" }).click();
      await page.locator("#contacts").getByText("No contacts here.").waitFor();
      assert.deepEqual((await server.api(fresh, "GET", "/me/contactFolders")).body.value, []);
    });

    test("no script errors, and the CSP held", () => {
      assert.deepEqual(errors, []);
    });
  });
}
