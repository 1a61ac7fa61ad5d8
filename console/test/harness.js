"use strict";

// Test harness of the console's browser tests: build contactgraph from the
// module's source once, run `contactgraph serve --emulator` as a separate
// process on a store of its own (a SQLite file in a temporary directory, or
// a fresh schema of the PostgreSQL database in CONTACTGRAPH_TEST_POSTGRES),
// and drive the console in headless Chromium with playwright-core.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");

// The process handling shared with the SDK tests (Node's modules only).
const { ServeProcess, build: buildInto, run } = require("../../compat/js/serverproc.js");

// CHROMIUM names the browser; Debian's chromium package by default.
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// The binary is built once per test process, into a directory removed at exit.
let built;
function build() {
  if (!built) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contactgraph-console-bin-"));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = path.join(dir, "contactgraph");
    built = buildInto(bin).then(() => bin);
  }
  return built;
}

// stores lists the stores to test: SQLite always, PostgreSQL when
// CONTACTGRAPH_TEST_POSTGRES names a database.
function stores() {
  const out = ["sqlite"];
  if (process.env.CONTACTGRAPH_TEST_POSTGRES) out.push("postgres");
  return out;
}

// Server is one `contactgraph serve --emulator` process.
class Server {
  static async start(store = "sqlite") {
    const s = new Server();
    s.store = store;
    s.bin = await build();
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), "contactgraph-console-"));
    try {
      if (store === "postgres") {
        s.pg = process.env.CONTACTGRAPH_TEST_POSTGRES;
        s.schema = `console_${Date.now()}_${crypto.randomBytes(3).toString("hex")}`;
        await run("psql", [s.pg, "-qc", `CREATE SCHEMA ${s.schema}`]);
        s.db = `${s.pg}${s.pg.includes("?") ? "&" : "?"}search_path=${s.schema}`;
      } else {
        s.db = path.join(s.dir, "cg.db");
      }
      await s.spawn();
    } catch (err) {
      await s.stop().catch(() => {});
      throw err;
    }
    return s;
  }

  spawn() {
    this.proc = new ServeProcess(this.bin, ["serve", "--emulator", "--addr", "127.0.0.1:0", "--db", this.db], this.dir);
    let consoleNext = false;
    return this.proc.start((line) => {
      let m;
      if ((m = /^base URL: (\S+)/.exec(line))) this.baseURL = m[1];
      if (consoleNext) {
        this.consoleLink = line.trim();
        consoleNext = false;
      }
      if (/^console \(/.test(line)) consoleNext = true;
      return line === "try:";
    }, '"try:" line').then(() => {
      assert.ok(this.baseURL, "no base URL line");
      assert.match(this.consoleLink || "", /^http:\/\/[^/]+\/console\/#token=[\w-]+\.[\w-]+\.[\w-]+$/, `the console link line: ${this.consoleLink}`);
      this.origin = new URL(this.baseURL).origin;
    });
  }

  log() {
    return this.proc ? this.proc.log() : "";
  }

  async stop() {
    try {
      if (this.proc) await this.proc.stop();
    } finally {
      if (this.schema) await run("psql", [this.pg, "-qc", `DROP SCHEMA IF EXISTS ${this.schema} CASCADE`]).catch(() => {});
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // token runs `contactgraph token` against the server's database.
  async token(...args) {
    const out = await run(this.bin, ["token", "--db", this.db, "--tenant", "contoso", ...args], { cwd: this.dir });
    return out.trim();
  }

  // api calls the Graph API with a token, as any client would.
  async api(token, method, p, body) {
    return this.call(this.baseURL + p, token, method, body);
  }

  // control calls an emulator control, /emulator/{action}.
  async control(token, method, action, body) {
    return this.call(`${this.origin}/emulator/${action}`, token, method, body);
  }

  async call(u, token, method, body) {
    const r = await fetch(u, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }
}

// launch starts headless Chromium.
async function launch() {
  const { chromium } = require("playwright-core");
  assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium, or set CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

// receiver is a change-notification receiver on loopback: it answers the
// validation handshake and records the notifications it is sent.
function receiver() {
  const got = [];
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    const token = u.searchParams.get("validationToken");
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (token !== null) {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end(token);
        return;
      }
      got.push(body);
      res.writeHead(202);
      res.end();
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${srv.address().port}/hook`, got, close: () => srv.close() })),
  );
}

module.exports = { Server, launch, receiver, stores };
