// Sequence stepper (slide "Naive RNN vs LSTM"): a sequence through one cell, step by
// step, with traces of the gates, C_t and h_t.
import { runSequence } from "./cells.js";
import { BOUNDS, checkChoice, checkMat, checkVec, fmt, frame, h, put, link, read, select, slider } from "./ui.js";

const SERIES = { rnn: ["h"], lstm: ["f", "i", "o", "C", "h"], gru: ["z", "r", "h"] };
const LABEL = { f: "fₜ", i: "iₜ", o: "oₜ", C: "Cₜ", h: "hₜ", z: "zₜ", r: "rₜ", x: "xₜ" };
const COLOR = { f: "var(--cw-a)", i: "var(--cw-d)", o: "var(--cw-b)", C: "var(--cw-c)", h: "var(--cw-e)",
                z: "var(--cw-a)", r: "var(--cw-d)", x: "currentColor" };
const DASH = { f: "6 3", i: "2 3", o: "8 3 2 3", C: "14 4", h: "", z: "6 3", r: "2 3", x: "1 4" };
// Colour is never the only cue: each trace has a dash (legend glyph) and its name at its end.
const GLYPH = { f: "╍╍", i: "┈┈", o: "━┈", C: "▬ ▬", h: "━━", z: "╍╍", r: "┈┈", x: "··" };
const WIDTH = { C: 3, h: 2.5 };

function weightShapes(kind, peephole, H, D) {
  const s = {};
  if (kind === "rnn") Object.assign(s, { U: [H, D], W: [H, H], b: [H] });
  if (kind === "lstm") {
    for (const g of "ifCo") Object.assign(s, { [`W_x${g}`]: [H, D], [`W_h${g}`]: [H, H], [`b_${g}`]: [H] });
    if (peephole) for (const g of "ifo") s[`w_c${g}`] = peephole === "full" ? [H, H] : [H];
  }
  if (kind === "gru") {
    for (const g of "zrh") Object.assign(s, { [`W_x${g}`]: [H, D], [`W_h${g}`]: [H, H] });
    Object.assign(s, { b_z: [H], b_r: [H], b_xh: [H], b_hh: [H] });
  }
  return s;
}

export function render({ model, el }) {
  const { root, say } = frame(el, "Sequence stepper: gates, C_t and h_t over time");
  const { commit, listen } = link(model);
  let timer = null, st = null;
  const load = () => {
    const s = {};
    s.kind = read(model, "kind", (v) => checkChoice("kind", v, ["rnn", "lstm", "gru"]), "rnn", say);
    s.variant = read(model, "variant", (v) => checkChoice("variant", v, ["lecture", "torch"]), "lecture", say);
    s.peephole = read(model, "peephole", (v) => checkChoice("peephole", v, [null, "diagonal", "full"]), null, say);
    s.nonlinearity = read(model, "nonlinearity", (v) => checkChoice("nonlinearity", v, ["tanh", "relu"]), "tanh", say);
    s.xs = read(model, "xs", (v) => checkMat("xs", v, null, null, BOUNDS.x, BOUNDS.maxT, BOUNDS.maxD), [[0]], say);
    const T = s.xs.length, D = s.xs[0].length;
    s.h0 = read(model, "h0", (v) => checkVec("h0", v, null, BOUNDS.h), [0], say);
    const H = s.h0.length;
    s.C0 = read(model, "C0", (v) => checkVec("C0", v, H, BOUNDS.C), new Array(H).fill(0), say);
    const shapes = weightShapes(s.kind, s.peephole, H, D);
    const zero = Object.fromEntries(Object.entries(shapes).map(([k, sh]) => [k, sh.length === 1
      ? new Array(sh[0]).fill(0) : Array.from({ length: sh[0] }, () => new Array(sh[1]).fill(0))]));
    s.weights = read(model, "weights", (w) => {
      if (!w || typeof w !== "object" || Array.isArray(w)) throw new Error("weights: expected an object");
      return Object.fromEntries(Object.entries(shapes).map(([k, sh]) => [k, sh.length === 1
        ? checkVec(`weights.${k}`, w[k], sh[0], BOUNDS.seqW) : checkMat(`weights.${k}`, w[k], sh[0], sh[1], BOUNDS.seqW)]));
    }, zero, say);
    s.t = read(model, "t", (v) => { if (!Number.isInteger(v) || v < 1 || v > T) throw new Error(`t: expected an integer step in [1, ${T}]`); return v; }, T, say);
    s.unit = read(model, "unit", (v) => { if (!Number.isInteger(v) || v < 0 || v >= H) throw new Error(`unit: expected an integer in [0, ${H - 1}]`); return v; }, 0, say);
    s.feature = read(model, "feature", (v) => { if (!Number.isInteger(v) || v < 0 || v >= D) throw new Error(`feature: expected an integer in [0, ${D - 1}]`); return v; }, 0, say);
    s.T = T; s.D = D; s.H = H;
    return s;
  };
  st = load();

  const stop = () => { if (timer) clearInterval(timer); timer = null; playBtn.textContent = "Play"; playBtn.setAttribute("aria-pressed", "false"); };
  const goto = (t) => { st.t = Math.max(1, Math.min(st.T, t)); commit([["t", st.t]]); tSlider.set(st.t); update(); };
  const resetBtn = h("button", { type: "button", "data-action": "reset", text: "Reset", onclick: () => { stop(); goto(1); } });
  const backBtn = h("button", { type: "button", "data-action": "back", text: "◀ Step back", onclick: () => { stop(); goto(st.t - 1); } });
  const stepBtn = h("button", { type: "button", "data-action": "step", text: "Step ▶", onclick: () => { stop(); goto(st.t + 1); } });
  const playBtn = h("button", { type: "button", "data-action": "play", "aria-pressed": "false", text: "Play",
    onclick: () => {
      if (timer) { stop(); return; }
      if (st.t >= st.T) goto(1);
      playBtn.textContent = "Pause"; playBtn.setAttribute("aria-pressed", "true");
      timer = setInterval(() => { if (st.t >= st.T || !root.isConnected) stop(); else goto(st.t + 1); }, 350);
    } });
  const tSlider = slider({ label: "step t", name: "t", min: 1, max: st.T, step: 1, digits: 0, value: st.t, say, onValue: (v) => { stop(); goto(Math.round(v)); } });
  const xSlider = slider({ label: "x_t at this step", name: "x_at_t", min: -BOUNDS.x, max: BOUNDS.x, step: 0.05,
    value: st.xs[st.t - 1][st.feature], say,
    onValue: (v) => {
      st.xs = st.xs.map((row, k) => (k === st.t - 1 ? row.map((x, j) => (j === st.feature ? v : x)) : row));
      commit([["xs", st.xs]]); update();
    } });
  const pickers = h("div", {});
  const chart = h("svg", { viewBox: "0 0 575 210", width: 575, role: "img", "aria-label": "traces over time" });
  const legend = h("div", { class: "cw-legend" });
  const note = h("div", { class: "cw-note", "data-out": "speed" });
  const info = h("div", { class: "cw-note" });
  root.append(info, h("div", {}, resetBtn, backBtn, stepBtn, playBtn), tSlider.row, xSlider.row, pickers, chart, legend, note);

  function buildPickers() {
    pickers.replaceChildren();
    if (st.H > 1) pickers.append(select({ label: "unit", name: "unit", value: st.unit,
      options: Array.from({ length: st.H }, (_, k) => [k, String(k)]), onChange: (v) => { st.unit = Number(v); commit([["unit", st.unit]]); update(); } }).row);
    if (st.D > 1) pickers.append(select({ label: "input feature", name: "feature", value: st.feature,
      options: Array.from({ length: st.D }, (_, k) => [k, String(k)]), onChange: (v) => { st.feature = Number(v); commit([["feature", st.feature]]); update(); } }).row);
    tSlider.range.max = String(st.T);
  }
  function update() {
    const tr = runSequence(st.kind, st.xs, st.weights, { h0: st.h0, C0: st.C0, peephole: st.peephole, variant: st.variant, nonlinearity: st.nonlinearity });
    const names = SERIES[st.kind], u = st.unit, t = st.t, T = st.T;
    const series = Object.fromEntries(names.map((n) => [n, tr[n].map((v) => v[u])]));
    series.x = st.xs.map((r) => r[st.feature]);
    const all = Object.values(series).flat();
    const lo = Math.min(-1, ...all), hi = Math.max(1, ...all);
    const X = (k) => 30 + (520 * k) / Math.max(1, T - 1), Y = (v) => 10 + (180 * (hi - v)) / (hi - lo);
    const kids = [h("title", { text: `traces of ${names.map((n) => LABEL[n]).join(", ")} and xₜ for unit ${u}, steps 1 to ${t} of ${T}` }),
      h("line", { x1: 30, x2: 550, y1: Y(0), y2: Y(0), stroke: "currentColor", "stroke-opacity": 0.35 }),
      h("text", { x: 26, y: Y(hi) + 4, "font-size": 10, "text-anchor": "end", fill: "currentColor", text: fmt(hi, 1) }),
      h("text", { x: 26, y: Y(lo) + 4, "font-size": 10, "text-anchor": "end", fill: "currentColor", text: fmt(lo, 1) }),
      h("line", { x1: X(t - 1), x2: X(t - 1), y1: 6, y2: 194, stroke: "var(--cw-hi)", "stroke-width": 2, "data-cursor": t })];
    for (const n of ["x", ...names]) {
      const pts = series[n].slice(0, t).map((v, k) => `${X(k).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
      kids.push(h("polyline", { points: pts, fill: "none", stroke: COLOR[n], "stroke-width": WIDTH[n] || 1.5,
        "stroke-dasharray": DASH[n] || undefined, "stroke-opacity": n === "x" ? 0.6 : 1, "data-series": n }));
    }
    // each trace's name at its end, nudged apart (11 px) where traces end close together
    let last = -Infinity;
    for (const [n, y] of ["x", ...names].map((n) => [n, Y(series[n][t - 1]) + 4]).sort((a, b) => a[1] - b[1])) {
      last = Math.max(y, last + 11);
      kids.push(h("text", { x: X(t - 1) + 4, y: last, "font-size": 10, fill: COLOR[n], text: LABEL[n] }));
    }
    kids.push(h("text", { x: 290, y: 207, "font-size": 10, "text-anchor": "middle", fill: "currentColor", text: "time step t →" }));
    chart.replaceChildren(...kids);
    legend.replaceChildren(...["x", ...names].map((n) => {
      const v = series[n][t - 1];
      return h("span", {}, h("span", { text: GLYPH[n] + " ", style: `color:${COLOR[n]}` }), `${LABEL[n]} = `,
        h("span", { class: "cw-val", "data-out": n, "data-value": String(v), text: fmt(v) }));
    }));
    const mad = (a) => (a.length > 1 ? a.slice(1).reduce((s, v, k) => s + Math.abs(v - a[k]), 0) / (a.length - 1) : 0);
    const hs = series.h.slice(0, t);
    put(note, st.kind === "lstm"
      ? `Average change per step so far: |ΔC_t| = ${fmt(mad(series.C.slice(0, t)))}, |Δh_t| = ${fmt(mad(hs))}. `
        + "C_t moves only through f_t·C_{t-1} + i_t·C̃_t, so where f_t is near 1 and i_t near 0 it drifts slowly; h_t = o_t·tanh(C_t) also follows the output gate."
      : `Average change per step so far: |Δh_t| = ${fmt(mad(hs))}. ` + (st.kind === "rnn"
        ? "The vanilla RNN rewrites h_t completely at every step." : "The GRU keeps h_t where its update gate says keep."));
    put(info, `${st.kind.toUpperCase()}${st.kind === "gru" ? ` (${st.variant} form)` : ""}${st.peephole ? ` with ${st.peephole} peepholes` : ""}: `
      + `${st.D} input${st.D > 1 ? "s" : ""}, ${st.H} unit${st.H > 1 ? "s" : ""}, ${T} steps; showing step ${t} of unit ${u}.`);
    xSlider.set(st.xs[t - 1][st.feature]);
    root.setAttribute("data-ready", "1");
  }
  buildPickers();
  update();
  const off = listen(["kind", "variant", "peephole", "nonlinearity", "xs", "h0", "C0", "weights", "t", "unit", "feature"],
    () => { st = load(); buildPickers(); tSlider.set(st.t); update(); });
  return () => { stop(); off(); };
}
export default { render };
