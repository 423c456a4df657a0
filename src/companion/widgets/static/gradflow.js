// Gradient flow (slide 9): ||dL/dh_t|| against t for an RNN, an LSTM and a GRU. The numbers
// repeat companion.gradient_flow step for step (tests/js/gradflow.test.mjs, to 1e-9): L = u . h_T, g_t = dL/dh_t for t = 1..T, the decay factor per step
// phi = (||g_1|| / ||g_T||)^(1/(T-1)). Weights and inputs from SplitMix64(seed) in this order:
// u (H normals, then unit length), A (H*H normals; Q = its modified Gram-Schmidt), W_ih
// (4H*D uniforms in +-1/sqrt(H)), W_hh (4H*H uniforms), z (T*D normals; x = input_scale * z).
// RNN: W_hh = rho Q; tanh (bptt.js) or linear (here: g_{t-1} = W^T g_t). LSTM: bias of f = b_f.
// GRU (the slides' form, z_t weights the new candidate): bias of z = b_z. Other biases 0.
import { SplitMix64 } from "./rng.js";
import { layerBackward, layerForward } from "./bptt.js";
import { checkChoice, fmt, frame, h, put, link, read, select, slider } from "./ui.js";

export const GF_KINDS = ["rnn", "lstm", "gru"];
// inclusive ranges, as companion.gradient_flow.BOUNDS
export const GF_BOUNDS = { T: [2, 100], H: [1, 16], D: [1, 16], seed: [0, 2 ** 53 - 1], rho: [0, 2],
  forget_bias: [-6, 6], update_bias: [-6, 6], input_scale: [0, 5] };
export const GF_DEFAULTS = { T: 60, H: 16, D: 4, seed: 0, rho: 0.9, nonlinearity: "tanh",
  forget_bias: 0, update_bias: 0, input_scale: 0.5 };
const GF_INTS = ["T", "H", "D", "seed"];
const GF_BLOCKS = { rnn: 1, lstm: 4, gru: 3 };

// A setting checked as Python's check_settings does; throws naming it.
export function gfCheck(name, v) {
  if (name === "nonlinearity") return checkChoice(name, v, ["tanh", "linear"]);
  const [lo, hi] = GF_BOUNDS[name];
  const int = GF_INTS.includes(name);
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v)))
    throw new Error(`${name}: expected ${int ? "an integer" : "a number"} in [${lo}, ${hi}]`);
  return v;
}

function gfSumSq(v, off, n) {
  let s = 0;
  for (let k = 0; k < n; k++) s += v[off + k] * v[off + k];
  return s;
}

// Euclidean norm of v[off .. off+n), scaled by the largest entry (no underflow of the squares).
export function gfNorm(v, off = 0, n = v.length) {
  let m = 0;
  for (let k = 0; k < n; k++) m = Math.max(m, Math.abs(v[off + k]));
  if (m === 0 || !Number.isFinite(m)) return m;
  let s = 0;
  for (let k = 0; k < n; k++) { const a = v[off + k] / m; s += a * a; }
  return m * Math.sqrt(s);
}

// Modified Gram-Schmidt on the columns of A (n x n, row-major): Q row-major.
export function gfOrthogonal(A, n) {
  const q = [];                                  // q[j]: column j of Q
  for (let j = 0; j < n; j++) {
    const v = new Array(n);
    for (let k = 0; k < n; k++) v[k] = A[k * n + j];
    for (let i = 0; i < j; i++) {
      const qi = q[i];
      let r = 0;
      for (let k = 0; k < n; k++) r += qi[k] * v[k];
      for (let k = 0; k < n; k++) v[k] -= r * qi[k];
    }
    const nv = Math.sqrt(gfSumSq(v, 0, n));
    if (!(nv > 0)) throw new Error("A: expected a matrix of full rank");
    q.push(v.map((a) => a / nv));
  }
  const Q = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) Q[k * n + j] = q[j][k];
  return Q;
}

// The draws for (seed, H, D, T), shared by the three cells (the last call's kept).
let gfLast = null;
function gfDraw(seed, H, D, T) {
  const key = `${seed},${H},${D},${T}`;
  if (gfLast && gfLast.key === key) return gfLast;
  const st = new SplitMix64(seed), u = new Float64Array(H);
  for (let k = 0; k < H; k++) u[k] = st.normal();
  const nu = Math.sqrt(gfSumSq(u, 0, H));
  for (let k = 0; k < H; k++) u[k] /= nu;
  const A = new Float64Array(H * H);
  for (let k = 0; k < H * H; k++) A[k] = st.normal();
  const Q = gfOrthogonal(A, H), c = 1 / Math.sqrt(H);
  const Wih = new Float64Array(4 * H * D), Whh = new Float64Array(4 * H * H), z = new Float64Array(T * D);
  for (let k = 0; k < Wih.length; k++) Wih[k] = st.uniform(-c, c);
  for (let k = 0; k < Whh.length; k++) Whh[k] = st.uniform(-c, c);
  for (let k = 0; k < T * D; k++) z[k] = st.normal();
  gfLast = { key, u, Q, Wih, Whh, z };
  return gfLast;
}

// The layer parameters p (companion's names), inputs x (T*D) and unit vector u (H) of one cell.
export function gfSetup(kind, s) {
  const { T, H, D } = s, G = GF_BLOCKS[kind], r = gfDraw(s.seed, H, D, T);
  const x = r.z.map((v) => s.input_scale * v);
  const p = { weight_ih_l0: r.Wih.slice(0, G * H * D), weight_hh_l0: r.Whh.slice(0, G * H * H),
    bias_ih_l0: new Float64Array(G * H), bias_hh_l0: new Float64Array(G * H) };
  if (kind === "rnn") p.weight_hh_l0 = r.Q.map((a) => s.rho * a);
  if (kind === "lstm") p.bias_ih_l0.fill(s.forget_bias, H, 2 * H);   // block f of i, f, g, o
  if (kind === "gru") p.bias_ih_l0.fill(s.update_bias, H, 2 * H);    // block z of r, z, n
  return { p, x, u: r.u.slice() };
}

// phi = (||g_1|| / ||g_T||)^(1/(T-1)) in logs; 0 when g_1 = 0.
export function gfDecay(norms) {
  const T = norms.length;
  if (norms[0] === 0) return 0;
  return Math.exp((Math.log(norms[0]) - Math.log(norms[T - 1])) / (T - 1));
}

// { kind, grads (T*H: row t-1 is g_t), norms (T), decay } for settings s (all keys of GF_DEFAULTS).
export function gradientFlow(kind, s) {
  checkChoice("kind", kind, GF_KINDS);
  for (const k of Object.keys(GF_DEFAULTS)) gfCheck(k, s[k]);
  const { T, H, D } = s, { p, x, u } = gfSetup(kind, s);
  let grads;
  if (kind === "rnn" && s.nonlinearity === "linear") {
    const W = p.weight_hh_l0;
    grads = new Float64Array(T * H);
    grads.set(u, (T - 1) * H);
    for (let t = T - 1; t > 0; t--)                 // g_{t-1} = W^T g_t, i.e. g_t @ W
      for (let j = 0; j < H; j++) {
        let a = 0;
        for (let i = 0; i < H; i++) a += grads[t * H + i] * W[i * H + j];
        grads[(t - 1) * H + j] = a;
      }
  } else {
    const cache = layerForward(kind, p, x, T, 1, D, H, { nonlinearity: "tanh", variant: "lecture" });
    const dOut = new Float64Array(T * H);
    dOut.set(u, (T - 1) * H);                       // the loss reads h_T only
    grads = layerBackward(cache, dOut).dh.slice();
  }
  const norms = new Float64Array(T);
  for (let t = 0; t < T; t++) norms[t] = gfNorm(grads, t * H, H);
  return { kind, grads, norms, decay: gfDecay(norms) };
}

// ---------------------------------------------------------------- the widget
const NAME = { rnn: "RNN", lstm: "LSTM", gru: "GRU" };
const COLOR = { rnn: "var(--cw-a)", lstm: "var(--cw-b)", gru: "var(--cw-c)" };
const DASH = { rnn: null, lstm: "8 4", gru: "2 3" };
const MARK = { rnn: "●", lstm: "■", gru: "▲" };
const W0 = 64, W1 = 520, Y0 = 10, Y1 = 230, DECADES = 8;   // plot box; heat map: 8 decades of colour
const sci = (v) => (v === 0 ? "0" : v.toExponential(1));

function marker(kind, x, y) {
  const a = { fill: COLOR[kind], "data-marker": kind };
  if (kind === "rnn") return h("circle", { cx: x, cy: y, r: 4, ...a });
  if (kind === "lstm") return h("rect", { x: x - 4, y: y - 4, width: 8, height: 8, ...a });
  return h("path", { d: `M${x},${y - 5}L${x + 5},${y + 4}L${x - 5},${y + 4}Z`, ...a });
}

function rgbOf(el, name, fallback) {
  const m = /^#([0-9a-f]{6})$/i.exec(getComputedStyle(el).getPropertyValue(name).trim());
  return m ? [0, 2, 4].map((k) => parseInt(m[1].slice(k, k + 2), 16)) : fallback;
}

export function render({ model, el }) {
  const { root, say } = frame(el, "Gradient flow back through time: ‖∂L/∂h_t‖ for L = u·h_T");
  const { commit, listen } = link(model);
  const KEYS = ["kind", ...Object.keys(GF_DEFAULTS)];
  let st;
  const load = () => {
    const s = { kind: read(model, "kind", (v) => checkChoice("kind", v, [...GF_KINDS, "all"]), "rnn", say) };
    for (const k of Object.keys(GF_DEFAULTS)) s[k] = read(model, k, (v) => gfCheck(k, v), GF_DEFAULTS[k], say);
    return s;
  };
  st = load();
  const set = (k, v) => { st[k] = v; commit([[k, v]]); update(); };
  const kindSel = select({ label: "cell", name: "kind", value: st.kind, onChange: (v) => set("kind", v),
    options: [["rnn", "RNN"], ["lstm", "LSTM"], ["gru", "GRU (slides' form)"], ["all", "all three side by side"]] });
  const nlSel = select({ label: "RNN nonlinearity", name: "nonlinearity", value: st.nonlinearity,
    onChange: (v) => set("nonlinearity", v), options: [["tanh", "tanh"], ["linear", "linear (none)"]] });
  const spec = [
    ["T", "sequence length T", 2, 100, 1, 0, null], ["rho", "RNN: spectral radius ρ of W", 0, 2, 0.05, 2, "rnn"],
    ["forget_bias", "LSTM: forget bias b_f", -6, 6, 0.25, 2, "lstm"],
    ["update_bias", "GRU: update bias b_z", -6, 6, 0.25, 2, "gru"],
    ["input_scale", "input scale", 0, 5, 0.05, 2, null], ["H", "hidden units H", 1, 16, 1, 0, null],
    ["seed", "seed", 0, 999, 1, 0, null]];
  const sl = {}, only = { nonlinearity: "rnn" };
  for (const [k, label, min, max, step, digits, cell] of spec) {
    sl[k] = slider({ label, name: k, min, max, step, digits, value: Math.min(max, st[k]), say,
      onValue: (v) => set(k, digits ? v : Math.round(v)) });
    if (cell) only[k] = cell;
  }
  const nlRow = h("div", {}, nlSel.row);
  const chart = h("svg", { viewBox: "0 0 600 262", width: 600, role: "img", "data-chart": "norms" });
  const legend = h("div", { class: "cw-legend", "aria-hidden": "true" });
  const heat = h("div", {});
  const decays = h("div", { "aria-live": "polite" });
  root.append(h("div", {}, kindSel.row), sl.T.row, sl.rho.row, nlRow, sl.forget_bias.row, sl.update_bias.row,
    sl.input_scale.row, sl.H.row, sl.seed.row, decays, chart, legend, heat,
    h("div", { class: "cw-note", text: "Decay factor per step φ = (‖g_1‖ / ‖g_T‖)^(1/(T−1)), g_t = ∂L/∂h_t, "
      + "‖g_T‖ = 1: below 1 the gradient vanishes with the distance T − t, above 1 it grows. "
      + "Heat map: |g_t| per unit (rows) and step (columns), log scale, 8 decades." }));

  const maps = {}, cached = {};
  function heatMap(kind) {
    if (maps[kind]) return maps[kind];
    const cv = h("canvas", { width: 1, height: 1, role: "img", "data-heat": kind });
    cv.style.cssText = `width:${W1 - W0}px;max-width:100%;image-rendering:pixelated;display:block;border:1px solid var(--cw-line)`;
    const title = h("div", { class: "cw-note" });
    maps[kind] = { cv, title, ctx: cv.getContext ? cv.getContext("2d") : null, img: null,
      box: h("div", { style: `margin:.3em 0 0 ${(W0 * 100) / 600}%` }, title, cv) };
    return maps[kind];
  }

  function update() {
    const rgb = rgbOf(root, "--cw-a", [31, 95, 168]);   // read before the DOM changes: no forced style
    const kinds = st.kind === "all" ? GF_KINDS : [st.kind];
    for (const [k, cell] of Object.entries(only)) {
      const row = k === "nonlinearity" ? nlRow : sl[k].row;
      row.style.display = kinds.includes(cell) ? "" : "none";   // .cw-row's display: grid beats [hidden]
    }
    const flows = kinds.map((k) => {
      // a cell is recomputed only when a setting it reads changed (b_f moves the LSTM alone)
      const key = JSON.stringify([st.T, st.H, st.D, st.seed, st.input_scale, ...{ rnn: [st.rho, st.nonlinearity],
        lstm: [st.forget_bias], gru: [st.update_bias] }[k]]);
      if (!cached[k] || cached[k].key !== key) cached[k] = { key, flow: gradientFlow(k, st) };
      return cached[k].flow;
    });
    const { T, H } = st;
    // the log axis: whole decades around every non-zero norm
    let lo = Infinity, hi = -Infinity, zero = false, gmax = 0;
    for (const f of flows) {
      for (const n of f.norms) {
        if (n > 0) { const l = Math.log10(n); lo = Math.min(lo, l); hi = Math.max(hi, l); } else zero = true;
      }
      for (const g of f.grads) gmax = Math.max(gmax, Math.abs(g));
    }
    lo = Math.floor(lo); hi = Math.ceil(hi);
    if (hi - lo < 1) { lo -= 1; hi += 1; }
    const X = (t) => W0 + ((W1 - W0) * (t - 1)) / (T - 1);
    const Y = (n) => (n > 0 ? Y1 - ((Y1 - Y0) * (Math.log10(n) - lo)) / (hi - lo) : Y1);
    const kids = [h("title", { text: `‖∂L/∂h_t‖ against t = 1..${T}, log scale, for ${kinds.map((k) => NAME[k]).join(", ")}` })];
    const every = Math.ceil((hi - lo) / 6);
    for (let e = lo; e <= hi; e += every) {
      kids.push(h("line", { x1: W0, x2: W1, y1: Y(10 ** e), y2: Y(10 ** e), stroke: "currentColor", "stroke-opacity": e === 0 ? 0.45 : 0.15 }),
        h("text", { x: W0 - 4, y: Y(10 ** e) + 4, "font-size": 10, "text-anchor": "end", fill: "currentColor", text: `1e${e}` }));
    }
    for (const t of [1, Math.round((T + 1) / 2), T])
      kids.push(h("text", { x: X(t), y: Y1 + 14, "font-size": 10, "text-anchor": "middle", fill: "currentColor", text: String(t) }));
    kids.push(h("text", { x: (W0 + W1) / 2, y: Y1 + 28, "font-size": 11, "text-anchor": "middle", fill: "currentColor",
      text: zero ? "step t →   (‖g_t‖ = 0 is drawn on the bottom edge)" : "step t →   (the loss reads the last state, t = T, at the right)" }));
    for (const f of flows) {
      let pts = "";
      for (let t = 1; t <= T; t++) pts += `${X(t).toFixed(1)},${Y(f.norms[t - 1]).toFixed(1)} `;
      kids.push(h("polyline", { points: pts, fill: "none", stroke: COLOR[f.kind], "stroke-width": 2,
        "stroke-dasharray": DASH[f.kind], "data-series": f.kind, "data-values": f.norms.join(",") }),
      marker(f.kind, X(1), Y(f.norms[0])),
      h("text", { x: X(1) + 8, y: Y(f.norms[0]) + (f.kind === "lstm" ? 14 : -6), "font-size": 11, fill: COLOR[f.kind],
        "font-weight": 600, text: NAME[f.kind] }));
    }
    chart.replaceChildren(...kids);
    chart.setAttribute("aria-label", flows.map((f) => `${NAME[f.kind]}: ‖g₁‖ = ${sci(f.norms[0])}`).join("; "));
    legend.replaceChildren(...flows.map((f) => h("span", {}, h("span", { style: `color:${COLOR[f.kind]}`,
      text: `${MARK[f.kind]} ${f.kind === "rnn" ? "━━" : f.kind === "lstm" ? "╍╍" : "┈┈"} ` }), NAME[f.kind])));
    decays.replaceChildren(...flows.map((f) => {
      const verdict = f.decay < 1 ? "shrinks going back in time" : f.decay > 1 ? "grows going back in time" : "is kept";
      return h("div", { class: "cw-note" }, h("strong", { text: `${NAME[f.kind]}: ` }), "decay factor per step φ = ",
        h("span", { class: "cw-val", "data-out": `decay-${f.kind}`, "data-value": String(f.decay), text: fmt(f.decay) }),
        h("span", { text: ` (the gradient ${verdict}; ‖g_1‖ = ${sci(f.norms[0])})` }));
    }));
    // heat maps: one pixel per (unit, step), alpha = position of log10 |g| in the top 8 decades
    // (the canvases are kept between repaints: a new 2D context costs more than the drawing)
    const top = Math.log10(gmax);
    heat.replaceChildren(...flows.map((f) => {
      const m = heatMap(f.kind);
      if (m.cv.width !== T || m.cv.height !== H) { m.cv.width = T; m.cv.height = H; m.img = null; }
      m.cv.style.height = `${Math.max(16, 6 * H)}px`;
      m.cv.setAttribute("aria-label", `${NAME[f.kind]}: |gₜ| per unit and step, ${H} rows by ${T} columns`);
      put(m.title, `${NAME[f.kind]}: |g_t| per unit (rows 1..${H}) and step t`);
      if (m.ctx) {
        m.img = m.img || m.ctx.createImageData(T, H);
        const d = m.img.data;
        for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) {
          const v = Math.abs(f.grads[t * H + i]), o = 4 * (i * T + t);
          const a = v > 0 ? Math.max(0, Math.min(1, 1 + (Math.log10(v) - top) / DECADES)) : 0;
          d[o] = rgb[0]; d[o + 1] = rgb[1]; d[o + 2] = rgb[2]; d[o + 3] = Math.round(255 * a);
        }
        m.ctx.putImageData(m.img, 0, 0);
      }
      return m.box;
    }));
    root.setAttribute("data-ready", "1");
  }
  update();
  const off = listen(KEYS, () => {
    st = load();
    kindSel.sel.value = st.kind; nlSel.sel.value = st.nonlinearity;
    for (const k of Object.keys(sl)) sl[k].set(st[k]);
    update();
  });
  return off;
}
export default { render };
