// The Graph API as the console calls it: with the signed-in token, on
// this origin, and with Graph's error bodies turned into GraphErrors.

const TOKEN_KEY = "contactgraph.console.token";

export const config = { emulator: false, apiBase: "/v1.0" };

export async function loadConfig() {
  const r = await fetch("config.json", { cache: "no-store" });
  if (r.ok) Object.assign(config, await r.json());
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// claims decodes a JWT's payload, for display only: the server checks it.
export function claims(t = token()) {
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// isApp reports whether the token is app-only (roles, no scp).
export function isApp(c = claims()) {
  return !!c && !c.scp;
}

export function permissions(c = claims()) {
  if (!c) return [];
  return [...(c.scp ? String(c.scp).split(" ") : []), ...(Array.isArray(c.roles) ? c.roles : [])];
}

export class GraphError extends Error {
  constructor(status, code, message, requestId, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.headers = headers;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

// url turns a path relative to the API base ("/me/contacts") into a URL;
// absolute links (nextLink, deltaLink) are used as they are.
export function url(path, base = config.apiBase) {
  if (/^https?:\/\//i.test(path)) return path;
  return base + path;
}

// request calls the API and returns { status, headers, body }; a non-2xx
// answer throws a GraphError with Graph's code and message.
export async function request(method, path, { body, headers = {}, base } = {}) {
  const h = { Authorization: "Bearer " + token(), ...headers };
  const init = { method, headers: h, cache: "no-store" };
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(url(path, base), init);
  } catch (err) {
    throw new GraphError(0, "NetworkError", "The server could not be reached: " + err.message, "", new Headers());
  }
  const text = await r.text();
  let json = null;
  if (text && (r.headers.get("content-type") || "").includes("json")) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!r.ok) {
    const e = (json && json.error) || {};
    const err = new GraphError(
      r.status,
      e.code || String(r.status),
      e.message || text || r.statusText,
      r.headers.get("request-id") || "",
      r.headers,
    );
    if (r.status === 401) onUnauthorized(err);
    throw err;
  }
  return { status: r.status, headers: r.headers, body: json };
}

// binary calls the API with a binary body (a File or Blob) or for a
// binary answer: it returns the answer's Blob, or null for 404.
export async function binary(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  if (body) headers["Content-Type"] = body.type || "application/octet-stream";
  const r = await fetch(url(path), { method, headers, body, cache: "no-store" });
  if (r.status === 404 && method === "GET") return null;
  if (!r.ok) {
    let e = {};
    try {
      e = (await r.json()).error || {};
    } catch {
      // not a Graph error body
    }
    throw new GraphError(r.status, e.code || String(r.status), e.message || r.statusText, r.headers.get("request-id") || "", r.headers);
  }
  return r.status === 204 ? null : r.blob();
}

export const get = (path, opts) => request("GET", path, opts).then((r) => r.body);
export const post = (path, body, opts) => request("POST", path, { ...opts, body }).then((r) => r.body);
export const patch = (path, body, opts) => request("PATCH", path, { ...opts, body }).then((r) => r.body);
export const del = (path, opts) => request("DELETE", path, opts).then((r) => r.body);

// all follows nextLinks and returns every item of a list (at most max).
export async function all(path, max = 2000) {
  const out = [];
  let next = path;
  while (next && out.length < max) {
    const page = await get(next);
    out.push(...(page.value || []));
    next = page["@odata.nextLink"];
  }
  return out;
}

// quote is an OData string literal.
export function quote(s) {
  return "'" + String(s).replace(/'/g, "''") + "'";
}

// seg escapes a path segment.
export const seg = encodeURIComponent;

// emulator calls an emulator control (outside /v1.0).
export function emulator(method, action, body) {
  return request(method, "/emulator/" + action, { body, base: "" });
}
