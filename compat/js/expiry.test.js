"use strict";

// An expired token through the official JavaScript SDK: a GraphError 401
// InvalidAuthenticationToken with a message. The server allows one minute of
// clock skew on exp (auth.DefaultLeeway) and `contactgraph token` cannot mint
// a token that is already expired, so this test mints a one-second token and
// waits a little over a minute. It has a file (and server) of its own so that
// `node --test` runs it alongside sdk.test.js.

const assert = require("node:assert/strict");
const { setTimeout: sleep } = require("node:timers/promises");
const { after, before, test } = require("node:test");

const { GraphError } = require("@microsoft/microsoft-graph-client");
const { Server, unique } = require("./harness");

const LEEWAY_MS = 60 * 1000; // auth.DefaultLeeway
const MARGIN_MS = 2 * 1000;

let server;

before(async () => {
  server = await Server.start();
});

after(async () => {
  if (server) await server.stop();
});

test("errors: an expired token is 401 InvalidAuthenticationToken", { timeout: 3 * 60 * 1000 }, async () => {
  const token = await server.delegatedToken(`jscompat-${unique()}`, `gina-${unique()}@contoso.com`, "Contacts.ReadWrite", "--ttl", "1s");
  const { exp } = JSON.parse(Buffer.from(token.split(".")[1], "base64url"));
  assert.equal(typeof exp, "number", "token without exp");
  const client = server.client(token);

  // Valid while exp has not passed (or within the leeway).
  assert.ok(Array.isArray((await client.api("/me/contacts").get()).value));

  const wait = exp * 1000 + LEEWAY_MS + MARGIN_MS - Date.now();
  if (wait > 0) await sleep(wait);

  let err;
  try {
    await client.api("/me/contacts").get();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GraphError, `want a GraphError, got ${err?.stack ?? err}`);
  assert.equal(err.statusCode, 401, `statusCode (body ${err.body})`);
  assert.equal(err.code, "InvalidAuthenticationToken", `code (body ${err.body})`);
  assert.match(err.message, /expired/i, `message (body ${err.body})`);
});
