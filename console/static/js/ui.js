// Small DOM helpers: the console builds its views with these, never with
// HTML strings, so data from the API is always text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export function id(prefix = "f") {
  return `${prefix}-${++uid}`;
}

// field is a labelled input; opts.type "textarea" and "select" too.
export function field(label, name, opts = {}) {
  const fid = id(name);
  let input;
  if (opts.type === "textarea") {
    input = h("textarea", { id: fid, name, rows: opts.rows || 3, placeholder: opts.placeholder });
    input.value = opts.value ?? "";
  } else if (opts.type === "select") {
    input = h(
      "select",
      { id: fid, name },
      (opts.options || []).map(([v, t]) => h("option", { value: v, selected: v === opts.value }, t)),
    );
  } else {
    input = h("input", {
      id: fid,
      name,
      type: opts.type || "text",
      value: opts.value ?? "",
      placeholder: opts.placeholder,
      required: opts.required,
      min: opts.min,
      max: opts.max,
      autocomplete: opts.autocomplete || "off",
      inputmode: opts.inputmode,
    });
    if (opts.type === "checkbox") input.checked = !!opts.checked;
  }
  const hint = opts.hint ? h("small", { id: fid + "-hint", class: "hint" }, opts.hint) : null;
  if (hint) input.setAttribute("aria-describedby", fid + "-hint");
  if (opts.type === "checkbox") {
    return h("div", { class: "field check " + (opts.class || "") }, input, h("label", { for: fid }, label), hint);
  }
  return h("div", { class: "field " + (opts.class || "") }, h("label", { for: fid }, label), input, hint);
}

// errorBox renders an error (a GraphError or any Error) as an alert.
export function errorBox(err) {
  const parts = [];
  if (err.status) parts.push(h("strong", {}, `${err.status} ${err.code || ""}`.trim()), " ");
  parts.push(err.message);
  const hd = err.headers;
  if (hd && hd.get("x-contactgraph-fault")) parts.push(" ", h("span", { class: "badge" }, "injected by the emulator"));
  if (hd && hd.get("retry-after")) parts.push(h("small", { class: "rid" }, `Retry-After: ${hd.get("retry-after")} s`));
  if (err.requestId) parts.push(h("small", { class: "rid" }, "request-id " + err.requestId));
  return h("div", { class: "alert", role: "alert" }, parts);
}

// showError puts an error into a container, or empties it for null.
export function showError(box, err) {
  if (!err) return clear(box);
  return clear(box, errorBox(err));
}

let statusTimer;
export function status(text) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => el.classList.remove("show"), 3000);
}

export function fmtDate(s) {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function button(text, onclick, opts = {}) {
  return h("button", { type: opts.type || "button", class: opts.class, onclick, "aria-label": opts.label, disabled: opts.disabled }, text);
}

// busy disables a button while an async action runs.
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}

// formValues reads a form's named fields.
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.value;
  }
  return out;
}

export function splitList(s) {
  return String(s || "")
    .split(/[,;\n]/)
    .map((x) => x.trim())
    .filter(Boolean);
}
