// Shared by every widget: elements (text only, never HTML), labelled sliders with a typed
// box that refuses bad input visibly, value bars, state validation, theme CSS.

// Bounds shared with companion/widgets/explorers.py (BOUNDS there).
export const BOUNDS = { x: 5, h: 1, C: 5, w: 10, seqW: 100, maxT: 100, maxD: 16, maxH: 8, maxK: 10 };

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `cw-${prefix}-${counter}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

// h("div", {class: "a", text: "b", "aria-live": "polite"}, child, ...): text is textContent.
export function h(tag, props = {}, ...children) {
  const svg = ["svg", "polyline", "line", "text", "circle", "path", "rect", "g", "title"].includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") put(e, String(v));
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// put(el, "h_{t-1}·W_hf") writes h<sub>t−1</sub>·W<sub>hf</sub>, as the book sets them; in SVG
// and <option>, Unicode subscripts where Unicode has the letters.
const SUB = /(^|[^A-Za-z])([A-Za-z]\u0303?)_(?:\{([^}]*)\}|([A-Za-z0-9]{1,3}))(?![A-Za-z0-9_])/g;
const UNI = ["0123456789+-aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"];
export function put(e, s) {
  s = String(s);
  if (!s.includes("_")) { e.textContent = s; return; }
  if (e instanceof SVGElement || e.tagName === "OPTION") {
    e.textContent = s.replace(SUB, (m, a, b, c, d) => { const t = c ?? d;
      return [...t].every((x) => UNI[0].includes(x)) ? a + b + [...t].map((x) => [...UNI[1]][UNI[0].indexOf(x)]).join("") : m; });
    return;
  }
  const out = []; let at = 0;
  for (const m of s.matchAll(SUB)) {
    out.push(s.slice(at, m.index) + m[1] + m[2], h("sub", { text: (m[3] ?? m[4]).replace(/-/g, "−") }));
    at = m.index + m[0].length;
  }
  e.replaceChildren(...out, s.slice(at));
}

export function fmt(v, digits = 4) {
  if (!Number.isFinite(v)) return String(v);
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

// ---------------------------------------------------------------- validation
export function isNum(v) { return typeof v === "number" && Number.isFinite(v); }
export function checkNum(name, v, bound) {
  if (!isNum(v) || Math.abs(v) > bound) throw new Error(`${name}: expected a number in [-${bound}, ${bound}]`);
  return v;
}
export function checkVec(name, v, n, bound, maxN = BOUNDS.maxH) {
  if (!Array.isArray(v) || v.length < 1 || v.length > maxN || (n !== null && v.length !== n))
    throw new Error(`${name}: expected a list of ${n === null ? "at most " + maxN : n} numbers`);
  v.forEach((x, k) => checkNum(`${name}[${k}]`, x, bound));
  return v;
}
export function checkMat(name, m, rows, cols, bound, maxR = BOUNDS.maxH, maxC = BOUNDS.maxD) {
  if (!Array.isArray(m) || m.length < 1 || m.length > maxR || (rows !== null && m.length !== rows))
    throw new Error(`${name}: expected ${rows === null ? "at most " + maxR : rows} rows`);
  m.forEach((r, k) => checkVec(`${name}[${k}]`, r, cols, bound, maxC));
  return m;
}
export function checkChoice(name, v, choices) {
  if (!choices.includes(v)) throw new Error(`${name}: expected one of ${choices.map(String).join(", ")}`);
  return v;
}
const NUMBER = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;
export function parseTyped(text) { return NUMBER.test(text) ? Number(text) : NaN; }

// ---------------------------------------------------------------- theme
// Colours follow the theme (pydata's html[data-theme=dark], JupyterLab's
// body[data-jp-theme-light=false], .vscode-dark); in pydata's dark mode the widget takes back
// the page's dark surface from the light box outputs get.
const CSS = `
.cw{--cw-a:#1f5fa8;--cw-b:#b3245c;--cw-c:#2e7d32;--cw-d:#8a5a00;--cw-e:#6a3fa0;--cw-warn:#b00020;
--cw-hi:#c77700;--cw-track:rgba(128,128,128,.22);--cw-line:rgba(128,128,128,.55);color:inherit;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;border:1px solid var(--cw-line);
border-radius:6px;padding:.6em .8em;margin:.5em 0;max-width:760px;box-sizing:border-box}
html[data-theme=dark] .cw,body[data-jp-theme-light=false] .cw,.vscode-dark .cw{--cw-a:#7cb8f5;
--cw-b:#f48fb1;--cw-c:#81c784;--cw-d:#ffcc66;--cw-e:#c5a3ff;--cw-warn:#ff8a80;--cw-hi:#ffb74d}
html[data-theme=dark] .cw{background:var(--pst-color-background,#121212);color:var(--pst-color-text-base,#ced6dd)}
html[data-theme=dark] .bd-content div.cell_output .output.text_html:has(>.cw-static){background:transparent;color:inherit;padding:0}
.cw-title{margin:.2em 0 .4em;font-size:1.05em;font-weight:700}.cw fieldset{border:1px solid var(--cw-line);border-radius:4px;
margin:.4em 0;padding:.3em .6em}.cw legend{font-weight:600}
.cw-row{display:grid;grid-template-columns:9.5em 1fr 5.5em;gap:.2em .6em;align-items:center}
.cw-row input[type=range]{width:100%;accent-color:var(--cw-a)}.cw-row input[type=text]{width:5em;
font:inherit;color:inherit;background:transparent;border:1px solid var(--cw-line);border-radius:3px;padding:1px 3px}
.cw-msg{color:var(--cw-warn);min-height:1.2em;font-size:.92em}
.cw-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.cw-bar{display:grid;grid-template-columns:5.5em 6em 1fr;gap:.1em .6em;align-items:center;margin:.15em 0;
padding:1px 3px;border-radius:3px;border:2px solid transparent}
.cw-bar .cw-eq{grid-column:1/4;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;opacity:.85}
.cw-track{position:relative;height:.9em;background:var(--cw-track);border-radius:2px}
.cw-fill{position:absolute;top:0;bottom:0;background:var(--cw-a)}
.cw-zero{position:absolute;top:-2px;bottom:-2px;width:1px;background:currentColor;opacity:.6}
.cw-val{font-variant-numeric:tabular-nums;font-family:ui-monospace,Menlo,Consolas,monospace}
.cw-dominant{border-color:var(--cw-hi)}.cw-dominant .cw-fill{background:var(--cw-hi)}
.cw button{font:inherit;color:inherit;background:transparent;border:1px solid var(--cw-line);
border-radius:4px;padding:.15em .6em;margin:.1em .3em .1em 0;cursor:pointer}
.cw button[aria-pressed=true]{border-color:var(--cw-a);box-shadow:inset 0 0 0 1px var(--cw-a)}
.cw :focus-visible{outline:2px solid var(--cw-a);outline-offset:1px}
.cw select{font:inherit;color:inherit;background:transparent;border:1px solid var(--cw-line)}
.cw select option{color:initial}
.cw svg{display:block;max-width:100%;height:auto;overflow:visible}
.cw-note{font-size:.92em;margin:.3em 0}.cw-path{font-family:ui-monospace,Menlo,Consolas,monospace}
.cw-path span{padding:0 .2em;border-radius:3px;border:2px solid transparent}.cw-path .cw-dominant{border-color:var(--cw-hi)}
.cw-grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(300px,100%),1fr));gap:.4em 1em}
.cw :is(input,button,select){min-height:24px;min-width:24px}.cw-row>*,.cw-legend>span{min-width:0}
@media (max-width:480px){.cw-row{grid-template-columns:1fr 5.5em}.cw-row>label{grid-column:1/3}.cw-bar{grid-template-columns:4.5em 5em 1fr}}
.cw-legend{display:flex;flex-wrap:wrap;gap:.1em 1em}.cw-legend>span{white-space:nowrap}
`;

export function injectStyle(el) {
  const root = el.getRootNode ? el.getRootNode() : document;
  const host = root === document || !root.host ? document.head : root;
  if (host.querySelector && host.querySelector("style[data-cw-style]")) return;
  host.appendChild(h("style", { "data-cw-style": "1", text: CSS }));
}

// The root: style, keys kept inside (JupyterLab would take the arrows), a status line.
export function frame(el, title) {
  injectStyle(el);
  const root = h("div", { class: "cw", role: "group", "aria-label": title });
  root.addEventListener("keydown", (e) => e.stopPropagation());
  const msg = h("div", { class: "cw-msg", role: "status", "aria-live": "polite" });
  root.append(h("div", { class: "cw-title", text: title }), msg);
  el.replaceChildren(root);
  return { root, msg, say: (t) => put(msg, t) };
}

// A labelled slider with a typed-value box. onValue(v) gets only valid numbers.
export function slider({ label, name, min, max, step = 0.05, value, onValue, say, digits = 2 }) {
  const id = uid(name.replace(/[^A-Za-z0-9_]/g, "_"));
  const range = h("input", { type: "range", id, min, max, step, value, "data-name": name });
  const box = h("input", { type: "text", id: id + "-n", inputmode: "decimal", value: fmt(value, digits),
                           "data-name": name, autocomplete: "off", spellcheck: "false" });
  const row = h("div", { class: "cw-row" },
    h("label", { for: id, text: label }), range,
    h("span", {}, h("label", { for: id + "-n", class: "cw-sr", text: `${label}: type a value` }), box));
  range.addEventListener("input", () => { const v = Number(range.value); box.value = fmt(v, digits); say(""); onValue(v); });
  const typed = () => {
    const raw = box.value;
    const v = parseTyped(raw);
    const shown = raw.length > 24 ? raw.slice(0, 24) + "…" : raw;
    if (Number.isNaN(v)) say(`${label}: “${shown}” is not a number; value kept at ${range.value}.`);
    else if (v < min || v > max) say(`${label}: ${shown} is outside [${min}, ${max}]; value kept at ${range.value}.`);
    else { say(""); range.value = String(v); box.value = fmt(v, digits); onValue(v); return; }
    box.value = fmt(Number(range.value), digits);
    box.setAttribute("aria-invalid", "true");
    setTimeout(() => box.removeAttribute("aria-invalid"), 1500);
  };
  box.addEventListener("change", typed);
  box.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); typed(); } });
  return { row, range, box, set(v) { range.value = String(v); box.value = fmt(v, digits); } };
}

// A horizontal value bar on [lo, hi], filled from 0, with value and equation as text.
export function bar({ name, symbol, eq, lo, hi, color }) {
  const fill = h("div", { class: "cw-fill" });
  if (color) fill.style.background = color;
  const zero = h("div", { class: "cw-zero" });
  zero.style.left = `${(100 * (0 - lo)) / (hi - lo)}%`;
  const val = h("span", { class: "cw-val", "data-out": name });
  const eqEl = h("div", { class: "cw-eq", text: eq });
  const row = h("div", { class: "cw-bar", "data-bar": name },
    h("span", { text: symbol }), val, h("div", { class: "cw-track", "aria-hidden": "true" }, fill, zero), eqEl);
  return {
    row, eqEl,
    set(v) {
      val.textContent = fmt(v);
      val.setAttribute("data-value", String(v));
      const c = Math.max(lo, Math.min(hi, v));
      const a = (Math.min(0, c) - lo) / (hi - lo), b = (Math.max(0, c) - lo) / (hi - lo);
      fill.style.left = `${100 * a}%`;
      fill.style.width = `${100 * (b - a)}%`;
    },
  };
}

// A labelled checkbox.
export function checkbox({ label, name, checked, onChange }) {
  const id = uid(name);
  const box = h("input", { type: "checkbox", id, "data-name": name });
  box.checked = !!checked;
  box.addEventListener("change", () => onChange(box.checked));
  return { row: h("div", {}, box, h("label", { for: id, text: " " + label })), box };
}

// A labelled <select> of [value, text] options.
export function select({ label, name, options, value, onChange }) {
  const id = uid(name);
  const sel = h("select", { id, "data-name": name }, ...options.map(([v, t]) => h("option", { value: v, text: t })));
  sel.value = String(value);
  sel.addEventListener("change", () => onChange(sel.value));
  return { row: h("span", {}, h("label", { for: id, text: label + " " }), sel, " "), sel };
}

// Read a model key, validated; on failure show why and use the fallback.
export function read(model, key, check, fallback, say) {
  try { return check(model.get(key)); } catch (e) { say(`State refused: ${e.message}; using a default.`); return fallback; }
}

// commit([[key, value], ...]) sets and saves once; listen(keys, onChange), last in render,
// runs onChange for changes made elsewhere (not our own commits) and returns the cleanup.
export function link(model) {
  let busy = false;
  return {
    commit(pairs) {
      busy = true;
      try { for (const [k, v] of pairs) model.set(k, v); model.save_changes(); } finally { busy = false; }
    },
    listen(keys, onChange) {
      const handler = () => { if (!busy) onChange(); };
      keys.forEach((k) => model.on(`change:${k}`, handler));
      return () => keys.forEach((k) => model.off(`change:${k}`, handler));
    },
  };
}
