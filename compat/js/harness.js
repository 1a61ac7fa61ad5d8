"use strict";

// Test harness: build contactgraph from the main module's source, run
// `contactgraph serve --tls` as a separate process, mint tokens with its CLI,
// and point the official Microsoft Graph JavaScript SDK
// (@microsoft/microsoft-graph-client) at it over HTTPS.
//
// Trusting the self-signed certificate: the SDK sends every request with
// the global fetch (undici in Node 18+), which ignores an https.Agent
// (`agent`) but honours undici's `dispatcher` option. So each client gets an
// undici Agent whose TLS connector trusts exactly the server's certificate,
// passed through the SDK's `fetchOptions`. Nothing global changes and TLS
// verification stays on.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const {
  Client,
  CustomAuthenticationProvider,
  MiddlewareFactory,
  PageIterator,
} = require("@microsoft/microsoft-graph-client");
const { Agent } = require("undici");

const { ServeProcess, build, run } = require("./serverproc.js");

// When set, passed to the server as --db instead of a fresh SQLite file
// (for example a PostgreSQL DSN), as in the Go SDK tests.
const TEST_DB_ENV = "CONTACTGRAPH_TEST_DB";

// Server is one running `contactgraph serve --tls` process with its own
// temporary directory (binary and, unless CONTACTGRAPH_TEST_DB is set, the
// SQLite database).
class Server {
  // start builds the binary, starts the server on a free port and waits for
  // its "base URL: " line.
  static async start() {
    const s = new Server();
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), "contactgraph-js-"));
    s.bin = path.join(s.dir, process.platform === "win32" ? "contactgraph.exe" : "contactgraph");
    s.db = process.env[TEST_DB_ENV] || path.join(s.dir, "cg.db");
    try {
      await build(s.bin);
      await s.spawn();
      s.ca = await run(s.bin, ["cert", "--db", s.db], { cwd: s.dir });
      assert.match(s.ca, /-----BEGIN CERTIFICATE-----/, "contactgraph cert printed no PEM certificate");
    } catch (err) {
      await s.stop().catch(() => {});
      throw err;
    }
    s.dispatcher = new Agent({ connect: { ca: s.ca } });
    return s;
  }

  spawn() {
    this.proc = new ServeProcess(
      this.bin,
      ["serve", "--tls", "--addr", "127.0.0.1:0", "--db", this.db, "--allow-http-notifications", "--notification-allow", "127.0.0.1"],
      this.dir,
    );
    return this.proc.start((line) => {
      const m = /^base URL: (\S+)/.exec(line);
      if (m) this.baseURL = m[1].replace(/\/+$/, "");
      return Boolean(m);
    }, '"base URL: " line').then(() => {
      const u = new URL(this.baseURL);
      assert.equal(u.protocol, "https:", `base URL ${this.baseURL} is not https`);
      assert.equal(u.pathname, "/v1.0", `base URL ${this.baseURL} does not end in /v1.0`);
      this.origin = u.origin; // https://localhost:PORT or https://127.0.0.1:PORT
      this.hostname = u.hostname;
    });
  }

  log() {
    return this.proc ? this.proc.log() : "";
  }

  // stop sends SIGTERM and waits for a clean exit; it throws when the
  // server exits with an error or does not exit in time (then it is killed).
  async stop() {
    try {
      if (this.dispatcher) await this.dispatcher.close();
      if (this.proc) await this.proc.stop({ cleanExit: true });
    } finally {
      // The directory holds the binary and, unless CONTACTGRAPH_TEST_DB
      // names another database, the SQLite file.
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // token runs `contactgraph token` against the server's database.
  async token(tenant, ...args) {
    const out = await run(this.bin, ["token", "--db", this.db, "--tenant", tenant, ...args], { cwd: this.dir });
    const tok = out.trim();
    assert.ok(tok.split(".").length === 3 && !/\s/.test(tok), `contactgraph token printed ${JSON.stringify(out)}, want one JWT`);
    return tok;
  }

  // foreignToken mints a delegated token with the signing key of another,
  // new database: well-formed, but no key the server trusts.
  async foreignToken(tenant, upn, scopes = "Contacts.ReadWrite") {
    const other = path.join(this.dir, "other.db");
    const out = await run(this.bin, ["token", "--db", other, "--create", "--tenant", tenant, "--user", upn, "--scopes", scopes], {
      cwd: this.dir,
    });
    return out.trim();
  }

  delegatedToken(tenant, upn, scopes = "Contacts.ReadWrite", ...extra) {
    return this.token(tenant, "--user", upn, "--scopes", scopes, ...extra);
  }

  appToken(tenant, app, roles) {
    return this.token(tenant, "--app", app, "--roles", roles);
  }

  // clientOptions are the options every client of this server shares:
  // the server's origin, its host in customHosts (the SDK sends the token
  // only over https and only to Graph hosts and customHosts), and the
  // dispatcher that trusts the server's certificate.
  // origin may name another host of the certificate (localhost or
  // 127.0.0.1) on the same port.
  clientOptions(origin = this.origin) {
    return {
      baseUrl: origin,
      defaultVersion: "v1.0",
      customHosts: new Set([new URL(origin).hostname]),
      fetchOptions: { dispatcher: this.dispatcher },
    };
  }

  // client is the SDK client exactly as documented: Client.init with an
  // authProvider callback (the SDK's default middleware chain).
  client(token, origin) {
    return Client.init({ ...this.clientOptions(origin), authProvider: (done) => done(null, token) });
  }

  // recordingClient is the SDK's own default middleware chain (the one
  // Client.init builds: authentication, retry, redirect, telemetry, fetch)
  // with a Recorder just before the fetch handler, so a test can see what
  // went over the wire.
  recordingClient(token, origin) {
    const recorder = new Recorder();
    const chain = MiddlewareFactory.getDefaultMiddlewareChain(
      new CustomAuthenticationProvider((done) => done(null, token)),
    );
    chain.splice(chain.length - 1, 0, recorder);
    const client = Client.initWithMiddleware({ ...this.clientOptions(origin), middleware: chain });
    return { client, recorder };
  }
}

// Recorder is an SDK middleware that records every request as sent to
// fetch (headers included) and every response as received.
class Recorder {
  constructor() {
    this.log = [];
  }

  setNext(next) {
    this.next = next;
  }

  async execute(context) {
    const headers = {};
    for (const [k, v] of Object.entries(context.options?.headers ?? {})) headers[k.toLowerCase()] = v;
    const entry = {
      method: context.options?.method ?? "GET",
      url: typeof context.request === "string" ? context.request : context.request.url,
      headers,
      body: typeof context.options?.body === "string" ? context.options.body : undefined,
    };
    this.log.push(entry);
    try {
      await this.next.execute(context);
    } catch (err) {
      entry.error = err;
      throw err;
    }
    const res = context.response;
    entry.status = res.status;
    entry.responseHeaders = Object.fromEntries(res.headers);
    entry.responseBody = await res.clone().text();
  }

  clear() {
    this.log = [];
  }

  dump() {
    return this.log
      .map((e) => {
        const lines = [`${e.method} ${e.url}`];
        if (e.headers.prefer) lines.push(`  > Prefer: ${e.headers.prefer}`);
        if (e.body) lines.push(`  > ${clip(e.body)}`);
        if (e.error) lines.push(`  < error: ${e.error}`);
        else lines.push(`  < ${e.status} ${e.responseHeaders["content-type"] ?? ""}`, `  < ${clip(e.responseBody)}`);
        return lines.join("\n");
      })
      .join("\n");
  }
}

function clip(s, max = 4000) {
  s = String(s ?? "").trim();
  return s.length > max ? `${s.slice(0, max)}… (${s.length} bytes)` : s;
}

// deltaRound runs one delta round with the SDK: the first call (a path with
// its query, or a deltaLink), then a PageIterator over every following page
// (it follows @odata.nextLink), re-sending the same headers on every call.
// It returns the items in the order received and the round's deltaLink.
async function deltaRound(client, url, headers = {}) {
  let request = client.api(url);
  for (const [k, v] of Object.entries(headers)) request = request.header(k, v);
  const first = await request.get();
  const items = [];
  const iterator = new PageIterator(
    client,
    first,
    (item) => {
      items.push(item);
      return true;
    },
    { headers },
  );
  await iterator.iterate();
  assert.ok(iterator.isComplete(), "PageIterator did not complete the round");
  const deltaLink = iterator.getDeltaLink();
  assert.equal(typeof deltaLink, "string", "the last page of the round carries no @odata.deltaLink");
  return { items, deltaLink };
}

// latestById keeps the last occurrence of every id (duplicates across
// pages are allowed; the later one is at least as new).
function latestById(items) {
  const m = new Map();
  for (const item of items) {
    assert.equal(typeof item.id, "string", `delta item without an id: ${JSON.stringify(item)}`);
    m.set(item.id, item);
  }
  return m;
}

// unique returns a short random suffix, so that nothing a test makes
// collides with another run on a shared database.
function unique() {
  return crypto.randomBytes(4).toString("hex");
}

module.exports = { Server, Recorder, deltaRound, latestById, unique, clip };
