"use strict";

// contactgraph driven by the official Microsoft Graph JavaScript SDK
// (@microsoft/microsoft-graph-client) over HTTPS: CRUD, contact, folder and
// org contact delta rounds with the SDK's PageIterator, and errors.
//
// One server for the file; every test works in a tenant of its own, so the
// assertions are exact also on a shared database (CONTACTGRAPH_TEST_DB).

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");

const { GraphError } = require("@microsoft/microsoft-graph-client");
const { Server, deltaRound, latestById, unique } = require("./harness");

let server;

before(async () => {
  server = await Server.start();
});

after(async () => {
  if (server) await server.stop();
});

// newTenant returns a tenant name no other test or run uses.
function newTenant() {
  return `jscompat-${unique()}`;
}

// failDump attaches the recorded exchanges to an assertion failure.
async function withDump(recorder, fn) {
  try {
    return await fn();
  } catch (err) {
    err.message += `\n\nHTTP exchanges of this client:\n${recorder.dump()}\n\nserver output:\n${server.log()}`;
    throw err;
  }
}

// rejectsWithGraphError awaits p and checks that it fails with a GraphError
// of the given status and code, carrying a message; it returns the error.
async function rejectsWithGraphError(p, statusCode, code) {
  let err;
  try {
    const res = await p;
    assert.fail(`request succeeded (${JSON.stringify(res)}), want GraphError ${statusCode} ${code}`);
  } catch (e) {
    err = e;
  }
  if (err instanceof assert.AssertionError) throw err;
  assert.ok(err instanceof GraphError, `want a GraphError, got ${err?.constructor?.name}: ${err?.stack ?? err}`);
  assert.equal(err.statusCode, statusCode, `statusCode (body ${err.body})`);
  assert.equal(err.code, code, `code (body ${err.body})`);
  assert.equal(typeof err.message, "string");
  assert.ok(err.message.length > 0, `GraphError without a message (body ${err.body})`);
  assert.match(err.requestId ?? "", /^[0-9a-f-]{36}$/i, `GraphError requestId (body ${err.body})`);
  assert.ok(err.date instanceof Date && !Number.isNaN(err.date.getTime()), `GraphError date (body ${err.body})`);
  return err;
}

// expectSameURLBase checks that a link is absolute, on the base URL the
// client used.
function expectOnBase(link, what) {
  assert.equal(typeof link, "string", `${what} is not a string: ${link}`);
  assert.ok(link.startsWith(`${server.baseURL}/`), `${what} ${link} is not on the base URL ${server.baseURL}`);
}

test("CRUD: folder, contact in it, read, patch, delete", async () => {
  const tenant = newTenant();
  const token = await server.delegatedToken(tenant, `alice-${unique()}@contoso.com`);
  // Client.init with an authProvider callback, as the SDK documents it.
  const client = server.client(token);

  const folder = await client.api("/me/contactFolders").post({ displayName: "JS CRUD" });
  assert.equal(typeof folder.id, "string");
  assert.equal(folder.displayName, "JS CRUD");
  assert.equal(typeof folder.parentFolderId, "string");

  const input = {
    givenName: "Ada",
    surname: "Lovelace",
    companyName: "Analytical Engines",
    emailAddresses: [{ address: "ada@example.com", name: "Ada Lovelace" }],
    businessPhones: ["+44 20 7946 0000"],
    categories: ["Customers"],
  };
  const created = await client.api(`/me/contactFolders/${folder.id}/contacts`).post(input);
  assert.equal(typeof created.id, "string");
  assert.equal(created.parentFolderId, folder.id);
  assert.equal(created.displayName, "Ada Lovelace", "displayName derived from the name parts");
  assert.equal(created.givenName, "Ada");
  assert.equal(created.surname, "Lovelace");
  assert.equal(created.companyName, "Analytical Engines");
  assert.deepEqual(created.emailAddresses, input.emailAddresses);
  assert.deepEqual(created.businessPhones, input.businessPhones);
  assert.deepEqual(created.categories, input.categories);
  assert.equal(typeof created.changeKey, "string");
  assert.ok(created.changeKey.length > 0);

  // Read it back: by the default route and under its folder.
  const read = await client.api(`/me/contacts/${created.id}`).get();
  const readInFolder = await client.api(`/me/contactFolders/${folder.id}/contacts/${created.id}`).get();
  for (const r of [read, readInFolder]) {
    assert.equal(r.id, created.id);
    assert.equal(r.displayName, "Ada Lovelace");
    assert.equal(r.changeKey, created.changeKey);
    assert.equal(r["@odata.etag"], `W/"${created.changeKey}"`);
    assert.deepEqual(r.emailAddresses, input.emailAddresses);
  }
  const list = await client.api(`/me/contactFolders/${folder.id}/contacts`).select(["displayName"]).get();
  assert.deepEqual(
    list.value.map((c) => [c.id, c.displayName]),
    [[created.id, "Ada Lovelace"]],
  );

  // PATCH changes only jobTitle, and advances changeKey.
  const patched = await client.api(`/me/contacts/${created.id}`).patch({ jobTitle: "Analyst" });
  assert.equal(patched.id, created.id);
  assert.equal(patched.jobTitle, "Analyst");
  assert.equal(typeof patched.changeKey, "string");
  assert.notEqual(patched.changeKey, read.changeKey, "PATCH did not change changeKey");
  assert.equal(patched["@odata.etag"], `W/"${patched.changeKey}"`);
  const reread = await client.api(`/me/contacts/${created.id}`).get();
  const volatile = new Set(["jobTitle", "changeKey", "@odata.etag", "lastModifiedDateTime", "@odata.context"]);
  for (const key of new Set([...Object.keys(read), ...Object.keys(reread)])) {
    if (volatile.has(key)) continue;
    assert.deepEqual(reread[key], read[key], `PATCH {jobTitle} changed ${key}`);
  }
  assert.equal(reread.jobTitle, "Analyst");
  assert.equal(reread.changeKey, patched.changeKey);

  // DELETE answers 204; the contact is gone.
  const deleted = await client.api(`/me/contacts/${created.id}`).delete();
  assert.equal(deleted, undefined);
  await rejectsWithGraphError(client.api(`/me/contacts/${created.id}`).get(), 404, "ErrorItemNotFound");
  await rejectsWithGraphError(
    client.api(`/me/contactFolders/${folder.id}/contacts/${created.id}`).get(),
    404,
    "ErrorItemNotFound",
  );

  await client.api(`/me/contactFolders/${folder.id}`).delete();
  await rejectsWithGraphError(client.api(`/me/contactFolders/${folder.id}`).get(), 404, "ErrorItemNotFound");
});

test("contact delta: PageIterator rounds with odata.maxpagesize=2", async () => {
  const tenant = newTenant();
  const token = await server.delegatedToken(tenant, `bob-${unique()}@contoso.com`);
  const { client, recorder } = server.recordingClient(token);
  const prefer = { Prefer: "odata.maxpagesize=2" };

  await withDump(recorder, async () => {
    const folder = await client.api("/me/contactFolders").post({ displayName: "Delta" });
    const people = [
      ["Ada", "Lovelace"],
      ["Alan", "Turing"],
      ["Grace", "Hopper"],
      ["Edsger", "Dijkstra"],
      ["Barbara", "Liskov"],
    ];
    const ids = [];
    for (const [givenName, surname] of people) {
      const c = await client.api(`/me/contactFolders/${folder.id}/contacts`).post({ givenName, surname });
      ids.push(c.id);
    }
    // A contact in another folder is not in this folder's rounds.
    await client.api("/me/contacts").post({ givenName: "Outside", surname: "Folder" });

    // First round: every contact of the folder, two a page.
    recorder.clear();
    const select = "displayName,jobTitle";
    const round1 = await deltaRound(client, `/me/contactFolders/${folder.id}/contacts/delta?$select=${select}`, prefer);
    const got1 = latestById(round1.items);
    assert.deepEqual([...got1.keys()].sort(), [...ids].sort(), "first round: exactly the folder's contacts");
    for (const [i, id] of ids.entries()) {
      const item = got1.get(id);
      assert.equal(item.displayName, people[i].join(" "));
      assert.equal(item["@odata.type"], "#microsoft.graph.contact");
      assert.equal(item["@removed"], undefined);
      const extra = Object.keys(item).filter((k) => !k.startsWith("@") && !["id", "displayName", "jobTitle"].includes(k));
      assert.deepEqual(extra, [], `$select=${select} (kept in the links) returned more properties`);
    }
    expectPagedWithPrefer(recorder, 2, 3);
    expectOnBase(round1.deltaLink, "@odata.deltaLink");

    // Changes: two creates, an update, a delete.
    const created = [];
    for (const [givenName, surname] of [["Katherine", "Johnson"], ["Donald", "Knuth"]]) {
      const c = await client.api(`/me/contactFolders/${folder.id}/contacts`).post({ givenName, surname });
      created.push(c.id);
    }
    const updated = ids[1];
    await client.api(`/me/contacts/${updated}`).patch({ jobTitle: "Cryptanalyst" });
    const removed = ids[3];
    await client.api(`/me/contacts/${removed}`).delete();

    // Second round from the deltaLink: exactly the changes.
    recorder.clear();
    const round2 = await deltaRound(client, round1.deltaLink, prefer);
    const got2 = latestById(round2.items);
    assert.deepEqual(
      [...got2.keys()].sort(),
      [...created, updated, removed].sort(),
      "second round: exactly the created, updated and deleted contacts",
    );
    for (const [i, id] of created.entries()) {
      const item = got2.get(id);
      assert.equal(item.displayName, ["Katherine Johnson", "Donald Knuth"][i]);
      assert.equal(item["@removed"], undefined);
      assert.equal(item["@odata.type"], "#microsoft.graph.contact");
    }
    assert.equal(got2.get(updated).jobTitle, "Cryptanalyst");
    assert.equal(got2.get(updated).displayName, "Alan Turing");
    assert.equal(got2.get(updated)["@removed"], undefined);
    assert.deepEqual(got2.get(removed), {
      "@odata.type": "#microsoft.graph.contact",
      id: removed,
      "@removed": { reason: "deleted" },
    });
    expectPagedWithPrefer(recorder, 2, 2);
    expectOnBase(round2.deltaLink, "@odata.deltaLink");
    assert.notEqual(round2.deltaLink, round1.deltaLink, "a deltaLink call returns a new token");

    // Nothing changed since: an empty round, with a new deltaLink again.
    const round3 = await deltaRound(client, round2.deltaLink, prefer);
    assert.deepEqual(round3.items, []);
    assert.notEqual(round3.deltaLink, round2.deltaLink, "every deltaLink call returns a new token");
  });
});

// expectPagedWithPrefer checks the recorded round: every call sent the
// Prefer header, every page had at most max items and said
// Preference-Applied, and the round took at least minPages calls.
function expectPagedWithPrefer(recorder, max, minPages) {
  const calls = recorder.log;
  assert.ok(calls.length >= minPages, `round took ${calls.length} calls, want at least ${minPages}`);
  for (const [i, call] of calls.entries()) {
    assert.equal(call.method, "GET");
    assert.equal(call.headers.prefer, `odata.maxpagesize=${max}`, `call ${i + 1} (${call.url}) did not send Prefer`);
    assert.equal(call.status, 200, `call ${i + 1} (${call.url})`);
    assert.equal(call.responseHeaders["preference-applied"], `odata.maxpagesize=${max}`, `call ${i + 1}: Preference-Applied`);
    const page = JSON.parse(call.responseBody);
    assert.ok(Array.isArray(page.value), `page ${i + 1} has no value array`);
    assert.ok(page.value.length <= max, `page ${i + 1} has ${page.value.length} items, more than ${max}`);
    const last = i === calls.length - 1;
    assert.equal("@odata.nextLink" in page, !last, `page ${i + 1} of ${calls.length}: @odata.nextLink`);
    assert.equal("@odata.deltaLink" in page, last, `page ${i + 1} of ${calls.length}: @odata.deltaLink`);
    if (!last) expectOnBase(page["@odata.nextLink"], "@odata.nextLink");
    if (i > 0) assert.equal(call.url, JSON.parse(calls[i - 1].responseBody)["@odata.nextLink"], "the SDK followed the nextLink verbatim");
  }
}

test("folder delta: /me/contactFolders/delta rounds", async () => {
  const tenant = newTenant();
  const token = await server.delegatedToken(tenant, `carol-${unique()}@contoso.com`);
  const { client, recorder } = server.recordingClient(token);
  const prefer = { Prefer: "odata.maxpagesize=2" };

  await withDump(recorder, async () => {
    const top = {};
    for (const name of ["Customers", "Suppliers", "Partners"]) {
      top[name] = (await client.api("/me/contactFolders").post({ displayName: name })).id;
    }
    const child = (await client.api(`/me/contactFolders/${top.Customers}/childFolders`).post({ displayName: "VIP" })).id;

    recorder.clear();
    const round1 = await deltaRound(client, "/me/contactFolders/delta", prefer);
    const got1 = latestById(round1.items);
    assert.deepEqual(
      [...got1.keys()].sort(),
      [...Object.values(top), child].sort(),
      "first round: every folder of the mailbox, flat (the default root is not listed)",
    );
    for (const [name, id] of Object.entries(top)) {
      assert.equal(got1.get(id).displayName, name);
      assert.equal(got1.get(id)["@odata.type"], "#microsoft.graph.contactFolder");
    }
    assert.equal(got1.get(child).displayName, "VIP");
    assert.equal(got1.get(child).parentFolderId, top.Customers);
    expectPagedWithPrefer(recorder, 2, 2);

    // Rename one, delete one, create one.
    const renamed = await client.api(`/me/contactFolders/${top.Suppliers}`).patch({ displayName: "Vendors" });
    assert.equal(renamed.displayName, "Vendors");
    await client.api(`/me/contactFolders/${top.Partners}`).delete();
    const added = (await client.api("/me/contactFolders").post({ displayName: "Press" })).id;

    recorder.clear();
    const round2 = await deltaRound(client, round1.deltaLink, prefer);
    const got2 = latestById(round2.items);
    assert.deepEqual(
      [...got2.keys()].sort(),
      [top.Suppliers, top.Partners, added].sort(),
      "second round: exactly the renamed, deleted and created folders",
    );
    assert.equal(got2.get(top.Suppliers).displayName, "Vendors");
    assert.equal(got2.get(top.Suppliers)["@removed"], undefined);
    assert.equal(got2.get(added).displayName, "Press");
    assert.deepEqual(got2.get(top.Partners), {
      "@odata.type": "#microsoft.graph.contactFolder",
      id: top.Partners,
      "@removed": { reason: "deleted" },
    });
    expectPagedWithPrefer(recorder, 2, 2);
    assert.notEqual(round2.deltaLink, round1.deltaLink);
  });
});

test("org contacts: app token, POST /contacts, $select delta, return=minimal", async () => {
  const tenant = newTenant();
  const token = await server.appToken(tenant, `jsapp-${unique()}`, "Directory.ReadWrite.All");
  const { client, recorder } = server.recordingClient(token);

  await withDump(recorder, async () => {
    // POST /contacts is a contactgraph extension (org contacts are
    // read-only in Graph).
    const specs = [
      { displayName: "Org One", jobTitle: "Engineer", mail: "one@example.com", companyName: "Acme" },
      { displayName: "Org Two", jobTitle: "Buyer", mail: "two@example.com", companyName: "Acme" },
      { displayName: "Org Three", jobTitle: "Counsel", mail: "three@example.com" },
    ];
    const ids = [];
    for (const spec of specs) {
      const c = await client.api("/contacts").post(spec);
      assert.match(c.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(c.displayName, spec.displayName);
      assert.equal(c.mail, spec.mail);
      ids.push(c.id);
    }

    const select = ["displayName", "jobTitle", "mail"];
    const round1 = await deltaRound(client, `/contacts/delta?$select=${select.join(",")}`);
    const got1 = latestById(round1.items);
    assert.deepEqual([...got1.keys()].sort(), [...ids].sort(), "first round: the tenant's org contacts");
    for (const [i, id] of ids.entries()) {
      const item = got1.get(id);
      const props = Object.keys(item).filter((k) => !k.startsWith("@"));
      assert.deepEqual(props.sort(), ["id", ...select].sort(), `$select returned ${props}`);
      for (const p of select) assert.equal(item[p], specs[i][p]);
    }
    expectOnBase(round1.deltaLink, "@odata.deltaLink");

    // Change the job title of one, clear the mail of another; soft-delete
    // the third.
    const patched = await client.api(`/contacts/${ids[0]}`).patch({ jobTitle: "Principal Engineer" });
    assert.equal(patched.jobTitle, "Principal Engineer");
    assert.equal(patched.mail, specs[0].mail, "PATCH changes only the fields sent");
    await client.api(`/contacts/${ids[1]}`).patch({ mail: null });
    await client.api(`/contacts/${ids[2]}`).delete();

    // return=minimal: only the properties changed since the token, plus id.
    recorder.clear();
    const minimal = { Prefer: "return=minimal" };
    const round2 = await deltaRound(client, round1.deltaLink, minimal);
    for (const call of recorder.log) {
      assert.equal(call.headers.prefer, "return=minimal", `${call.url} did not send Prefer`);
    }
    const got2 = latestById(round2.items);
    assert.deepEqual([...got2.keys()].sort(), [...ids].sort(), "second round: the three changed org contacts");
    const strip = (item) => Object.fromEntries(Object.entries(item).filter(([k]) => !k.startsWith("@odata.")));
    assert.deepEqual(strip(got2.get(ids[0])), { id: ids[0], jobTitle: "Principal Engineer" });
    assert.deepEqual(strip(got2.get(ids[1])), { id: ids[1], mail: null });
    assert.deepEqual(strip(got2.get(ids[2])), { id: ids[2], "@removed": { reason: "changed" } });

    // Without return=minimal every selected property is returned, changed
    // or not (a property never set, or cleared, may be left out).
    await client.api(`/contacts/${ids[1]}`).patch({ jobTitle: "Head Buyer" });
    const round3 = await deltaRound(client, round2.deltaLink);
    const got3 = latestById(round3.items);
    assert.deepEqual([...got3.keys()], [ids[1]], "third round: the one changed org contact");
    const item = got3.get(ids[1]);
    assert.equal(item.displayName, "Org Two");
    assert.equal(item.jobTitle, "Head Buyer");
    assert.ok(item.mail === undefined || item.mail === null, `cleared mail came back as ${JSON.stringify(item.mail)}`);
  });
});

test("errors: bad tokens are 401 InvalidAuthenticationToken", async () => {
  const tenant = newTenant();
  const upn = `dave-${unique()}@contoso.com`;
  const good = await server.delegatedToken(tenant, upn);
  assert.ok(Array.isArray((await server.client(good).api("/me/contacts").get()).value));

  const [header, payload, signature] = good.split(".");
  const flip = signature[5] === "A" ? "B" : "A";
  const bad = {
    garbled: "not-a-jwt",
    "garbled, three parts": "abc.def.ghi",
    "tampered signature": `${header}.${payload}.${signature.slice(0, 5)}${flip}${signature.slice(6)}`,
    "tampered payload": `${header}.${Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url")), tid: "00000000-0000-0000-0000-000000000000" }),
    ).toString("base64url")}.${signature}`,
    "signed by another database's key": await server.foreignToken(tenant, upn),
  };
  for (const [what, token] of Object.entries(bad)) {
    await rejectsWithGraphError(server.client(token).api("/me/contacts").get(), 401, "InvalidAuthenticationToken").catch(
      (err) => {
        err.message = `${what}: ${err.message}`;
        throw err;
      },
    );
  }
});

test("errors: Graph error bodies become GraphErrors", async () => {
  const tenant = newTenant();
  const upn = `erin-${unique()}@contoso.com`;
  const client = server.client(await server.delegatedToken(tenant, upn));

  // $filter and $top on contact delta: 400 naming Prefer: odata.maxpagesize.
  for (const query of ["$filter=displayName eq 'x'", "$top=3"]) {
    const err = await rejectsWithGraphError(client.api(`/me/contacts/delta?${query}`).get(), 400, "ErrorInvalidUrlQuery");
    assert.match(err.message, /odata\.maxpagesize/, `${query}: message does not name Prefer: odata.maxpagesize`);
  }

  // A garbled delta token: 400 "Badly formed token", never a 500.
  const { deltaLink } = await deltaRound(client, "/me/contacts/delta");
  const garbled = deltaLink.replace(/(\$deltatoken=.{10})./, (_, keep) => keep + (deltaLink.includes(`${keep}A`) ? "B" : "A"));
  assert.notEqual(garbled, deltaLink);
  const err = await rejectsWithGraphError(client.api(garbled).get(), 400, "BadRequest");
  assert.match(err.message, /badly formed token/i);

  // Read-only scope writing: 403 ErrorAccessDenied.
  const reader = server.client(await server.delegatedToken(tenant, upn, "Contacts.Read"));
  await rejectsWithGraphError(reader.api("/me/contacts").post({ givenName: "Nope" }), 403, "ErrorAccessDenied");

  // /me with an app-only token: 400.
  const app = server.client(await server.appToken(tenant, `jsapp-${unique()}`, "Contacts.ReadWrite"));
  const meErr = await rejectsWithGraphError(app.api("/me/contacts").get(), 400, "BadRequest");
  assert.match(meErr.message, /delegated authentication flow/);
});

test("wire: https on localhost and 127.0.0.1, links on the base URL used, headers", async () => {
  const tenant = newTenant();
  const token = await server.delegatedToken(tenant, `frank-${unique()}@contoso.com`);
  const port = new URL(server.origin).port;
  for (const host of ["localhost", "127.0.0.1"]) {
    const origin = `https://${host}:${port}`;
    const { client, recorder } = server.recordingClient(token, origin);
    await withDump(recorder, async () => {
      const page = await client.api("/me/contacts/delta").get();
      assert.ok(Array.isArray(page.value));
      assert.ok(
        page["@odata.deltaLink"].startsWith(`${origin}/v1.0/me/contacts/delta?`),
        `deltaLink ${page["@odata.deltaLink"]} is not on ${origin}/v1.0`,
      );
      assert.equal("@odata.nextLink" in page, false, "the last page carries an @odata.nextLink key");
      assert.equal(page["@odata.context"], `${origin}/v1.0/$metadata#Collection(contact)`);
      const call = recorder.log.at(-1);
      assert.equal(call.url, `${origin}/v1.0/me/contacts/delta`);
      assert.equal(call.headers.authorization, `Bearer ${token}`, "the SDK did not send the token");
      assert.equal(
        call.responseHeaders["content-type"],
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
      );
      assert.match(call.responseHeaders["request-id"] ?? "", /^[0-9a-f-]{36}$/i);
      assert.ok(call.headers["client-request-id"], "the SDK sent no client-request-id");
      assert.equal(call.responseHeaders["client-request-id"], call.headers["client-request-id"], "client-request-id not echoed");
    });
  }
});

test("subscriptions: create one with a receiver that answers the handshake, get a notification, delete it", async () => {
  const http = require("node:http");
  const items = [];
  let notified;
  const arrived = new Promise((resolve) => (notified = resolve));
  const receiver = http.createServer((req, res) => {
    const url = new URL(req.url, "http://receiver");
    const token = url.searchParams.get("validationToken");
    if (token !== null) {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(token);
      return;
    }
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      items.push(...JSON.parse(body).value);
      res.writeHead(202);
      res.end();
      notified();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  try {
    const tenant = newTenant();
    const token = await server.delegatedToken(tenant, `subs-${unique()}@contoso.com`);
    const client = server.client(token);
    const notificationUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    const expires = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    const sub = await client.api("/subscriptions").post({
      changeType: "created,updated",
      notificationUrl,
      resource: "me/contacts",
      expirationDateTime: expires,
      clientState: "js-sdk-secret",
    });
    assert.match(sub.id, /^[0-9a-f-]{36}$/);
    assert.equal(sub.resource, "me/contacts");
    assert.equal(sub.changeType, "created,updated");
    assert.equal(sub.notificationUrl, notificationUrl);
    assert.equal(sub.clientState, null, "clientState is never returned");
    assert.equal(new Date(sub.expirationDateTime).getTime(), new Date(expires).getTime());
    assert.ok(sub["@odata.context"].endsWith("/$metadata#subscriptions/$entity"));

    const contact = await client.api("/me/contacts").post({ displayName: "Grace Hopper" });
    await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error("no notification within 10 s")), 10000))]);
    assert.equal(items[0].subscriptionId, sub.id);
    assert.equal(items[0].changeType, "created");
    assert.equal(items[0].clientState, "js-sdk-secret");
    assert.equal(items[0].resourceData.id, contact.id);

    await client.api(`/subscriptions/${sub.id}`).delete();
    await rejectsWithGraphError(client.api(`/subscriptions/${sub.id}`).get(), 404, "ResourceNotFound");
    await rejectsWithGraphError(
      client.api("/subscriptions").post({ changeType: "moved", notificationUrl, resource: "me/contacts", expirationDateTime: expires }),
      400,
      "InvalidRequest",
    );
  } finally {
    receiver.close();
  }
});

test("batch: BatchRequestContent creates contacts in one $batch, BatchResponseContent reads them; a failed dependency is 424", async () => {
  const { BatchRequestContent, BatchResponseContent } = require("@microsoft/microsoft-graph-client");
  const tenant = newTenant();
  const token = await server.delegatedToken(tenant, `grace-${unique()}@contoso.com`);
  const { client, recorder } = server.recordingClient(token);
  await withDump(recorder, async () => {
    // Node's Request needs an absolute URL; the SDK strips the origin and sends "/v1.0/me/contacts".
    const create = (id, givenName) => ({
      id,
      request: new Request(`${server.baseURL}/me/contacts`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ givenName, surname: "Batch" }),
      }),
    });
    const names = ["Ana", "Bob", "Cho"];
    const content = new BatchRequestContent(names.map((n, i) => create(String(i + 1), n)));
    const payload = await content.getContent();
    assert.equal(payload.requests[0].url, "/v1.0/me/contacts");
    assert.equal(payload.requests[0].headers["content-type"], "application/json");
    const batch = new BatchResponseContent(await client.api("/$batch").post(payload));
    const ids = new Set();
    for (const [i, n] of names.entries()) {
      const res = batch.getResponseById(String(i + 1));
      assert.equal(res.status, 201, `create ${n}`);
      assert.equal(res.headers.get("content-type"), "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8");
      assert.match(res.headers.get("request-id") ?? "", /^[0-9a-f-]{36}$/i);
      const contact = await res.json();
      assert.equal(contact.givenName, n);
      assert.equal(contact.displayName, `${n} Batch`);
      ids.add(contact.id);
    }
    assert.equal(ids.size, 3);
    assert.equal((await client.api("/me/contacts").get()).value.length, 3);

    // A serial chain built with addDependency: the GET fails, so the creates after it are 424.
    const chain = new BatchRequestContent([
      { id: "get", request: new Request(`${server.baseURL}/me/contacts/${"A".repeat(32)}`, { method: "GET" }) },
      create("never", "Never"),
      create("nope", "Nope"),
    ]);
    chain.addDependency("never", "get");
    chain.addDependency("nope", "never");
    const failed = new BatchResponseContent(await client.api("/$batch").post(await chain.getContent()));
    const missing = failed.getResponseById("get");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "ErrorItemNotFound");
    for (const id of ["never", "nope"]) {
      const res = failed.getResponseById(id);
      assert.equal(res.status, 424, id);
      const body = await res.json();
      assert.equal(body.error.code, "FailedDependency");
      assert.ok(body.error.message.length > 0);
    }
    assert.equal((await client.api("/me/contacts").get()).value.length, 3, "a request after a failed one ran");
  });
});
