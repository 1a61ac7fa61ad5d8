"use strict";

// The parts of running contactgraph in tests that every JavaScript test
// suite shares (compat/js, console/test): finding the main module, running
// its commands, and a `contactgraph serve` process that is started, read
// line by line and stopped. Node's own modules only, so that a suite of
// another directory can require it without this one's dependencies.

const { execFile, spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { promisify } = require("node:util");

const execFileP = promisify(execFile);

const MAIN_MODULE = "github.com/contactgraph/contactgraph";
const BUILD_TIMEOUT_MS = 10 * 60 * 1000;
const START_TIMEOUT_MS = 60 * 1000;
const STOP_TIMEOUT_MS = 30 * 1000;
const COMMAND_TIMEOUT_MS = 60 * 1000;

// modulePath returns the module path of a go.mod file's text, or "".
function modulePath(gomod) {
  for (let line of gomod.split("\n")) {
    line = line.trim();
    const m = /^module[\s"`](.*)$/.exec(line);
    if (!m) continue;
    let rest = m[0].slice("module".length);
    const comment = rest.indexOf("//");
    if (comment >= 0) rest = rest.slice(0, comment);
    return rest.trim().replace(/^["`]|["`]$/g, "");
  }
  return "";
}

// mainModuleRoot walks up from this directory to the one holding the
// go.mod of MAIN_MODULE (compat/go.mod is another module and is skipped).
function mainModuleRoot() {
  let dir = __dirname;
  for (;;) {
    const gomod = path.join(dir, "go.mod");
    if (fs.existsSync(gomod) && modulePath(fs.readFileSync(gomod, "utf8")) === MAIN_MODULE) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`no go.mod of module ${MAIN_MODULE} above ${__dirname}`);
    }
    dir = parent;
  }
}

// run runs a command and returns its stdout; the error names the command
// and carries its output.
async function run(file, args, options = {}) {
  try {
    const { stdout } = await execFileP(file, args, {
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: 16 << 20,
      ...options,
    });
    return stdout;
  } catch (err) {
    throw new Error(
      `${file} ${args.join(" ")}: ${err.message}\nstdout: ${err.stdout ?? ""}\nstderr: ${err.stderr ?? ""}`,
    );
  }
}

// build builds the contactgraph binary into bin.
function build(bin) {
  return run("go", ["build", "-o", bin, "./cmd/contactgraph"], { cwd: mainModuleRoot(), timeout: BUILD_TIMEOUT_MS });
}

// ServeProcess is one `contactgraph serve` process; output holds every line
// it printed, prefixed with its stream.
class ServeProcess {
  constructor(bin, args, cwd) {
    this.bin = bin;
    this.args = args;
    this.cwd = cwd;
    this.output = [];
  }

  // start starts the process and resolves once onLine, called with each
  // line of its stdout, returns true (readyWhat names that line in the
  // error of a process that exits or stays silent first).
  start(onLine, readyWhat) {
    const child = spawn(this.bin, this.args, { cwd: this.cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    // Never leave a server behind, even when the test process dies early.
    this.killOnExit = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    process.once("exit", this.killOnExit);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn, arg) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          fn(arg);
        }
      };
      const timer = setTimeout(
        () => settle(reject, new Error(`server printed no ${readyWhat} within ${START_TIMEOUT_MS} ms:\n${this.log()}`)),
        START_TIMEOUT_MS,
      );
      const reader = (stream, prefix, lineFn) => {
        let partial = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk) => {
          const lines = (partial + chunk).split("\n");
          partial = lines.pop();
          for (const line of lines) {
            this.output.push(prefix + line);
            if (lineFn(line)) settle(resolve);
          }
        });
      };
      reader(child.stdout, "stdout: ", onLine);
      reader(child.stderr, "stderr: ", () => false);
      child.once("error", (err) => settle(reject, err));
      this.exited.then(({ code, signal }) =>
        settle(reject, new Error(`server exited (code ${code}, signal ${signal}) before it printed ${readyWhat}:\n${this.log()}`)),
      );
    });
  }

  log() {
    return this.output.join("\n");
  }

  // stop sends SIGTERM and waits for the exit; it throws when the server
  // does not exit in time (then it is killed) and, with cleanExit, when it
  // exits with an error.
  async stop({ cleanExit = false } = {}) {
    try {
      if (!this.child) return;
      const child = this.child;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
      });
      const result = await Promise.race([this.exited, timeout]);
      clearTimeout(timer);
      if (result === null) {
        child.kill("SIGKILL");
        await this.exited;
        throw new Error(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; killed\n${this.log()}`);
      }
      if (cleanExit && result.code !== 0) {
        throw new Error(`server exited with code ${result.code}, signal ${result.signal} after SIGTERM\n${this.log()}`);
      }
    } finally {
      if (this.killOnExit) process.removeListener("exit", this.killOnExit);
    }
  }
}

module.exports = { ServeProcess, build, mainModuleRoot, run };
