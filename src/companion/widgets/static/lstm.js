// LSTM gate explorer (slides 10-12): one unit, every gate a labelled bar.
import { lstmStep } from "./cells.js";
import { BOUNDS, bar, checkNum, checkbox, fmt, frame, h, put, link, read, slider } from "./ui.js";

const GATES = [["f", "forget gate f_t"], ["i", "input gate i_t"], ["C", "candidate C̃_t"], ["o", "output gate o_t"]];
const WEIGHTS = ["W_xf", "W_hf", "b_f", "W_xi", "W_hi", "b_i", "W_xC", "W_hC", "b_C", "W_xo", "W_ho", "b_o"];
const PEEP = ["w_cf", "w_ci", "w_co"];
const INPUTS = [["x_t", "x_t (input)", BOUNDS.x], ["h_prev", "h_{t-1} (last output)", BOUNDS.h],
                ["C_prev", "C_{t-1} (last cell)", BOUNDS.C]];

function checkWeights(w) {
  if (!w || typeof w !== "object" || Array.isArray(w)) throw new Error("weights: expected an object");
  const out = {};
  for (const k of [...WEIGHTS, ...PEEP]) out[k] = checkNum(`weights.${k}`, w[k] === undefined && PEEP.includes(k) ? 0 : w[k], BOUNDS.w);
  return out;
}
function checkPresets(p) {
  if (!p || typeof p !== "object" || Array.isArray(p)) throw new Error("presets: expected an object");
  const names = Object.keys(p);
  if (names.length > 8) throw new Error("presets: at most 8");
  const out = {};
  for (const n of names) {
    if (!/^[a-z]{1,12}$/.test(n)) throw new Error("presets: names are 1-12 lower-case letters");
    const q = p[n];
    out[n] = { weights: checkWeights(q.weights) };
    for (const [k, , b] of INPUTS) out[n][k] = checkNum(`presets.${n}.${k}`, q[k], b);
  }
  return out;
}
const ZERO = Object.fromEntries([...WEIGHTS, ...PEEP].map((k) => [k, 0]));

export function render({ model, el }) {
  const { root, say } = frame(el, "LSTM gate explorer (one unit)");
  const { commit, listen } = link(model);
  const load = () => {
    const s = {};
    for (const [k, , b] of INPUTS) s[k] = read(model, k, (v) => checkNum(k, v, b), 0, say);
    s.weights = read(model, "weights", checkWeights, { ...ZERO }, say);
    s.peephole = read(model, "peephole", (v) => { if (typeof v !== "boolean") throw new Error("peephole: expected true or false"); return v; }, false, say);
    s.presets = read(model, "presets", checkPresets, {}, say);
    return s;
  };
  let st = load();

  const inputs = {}, weights = {};
  const inBox = h("fieldset", {}, h("legend", { text: "Inputs" }));
  for (const [k, label, b] of INPUTS) {
    inputs[k] = slider({ label, name: k, min: -b, max: b, value: st[k], say,
      onValue: (v) => { st[k] = v; commit([[k, v]]); update(); } });
    inBox.append(inputs[k].row);
  }
  // with every W_h· at 0 the h_{t-1} slider moves nothing: say so where it sits
  const hNote = h("p", { class: "cw-note", "data-out": "h_note", text: "W_h· = 0 here: h_{t-1} has no effect." });
  inBox.append(hNote);
  const presetRow = h("div", { class: "cw-presets" }, h("span", { text: "Presets: " }));
  const presetButtons = [];
  for (const name of Object.keys(st.presets)) {
    const btn = h("button", { type: "button", "data-preset": name, "aria-pressed": "false", text: name,
      onclick: () => {
        const p = st.presets[name];
        if (!p) return;
        for (const [k] of INPUTS) st[k] = p[k];
        st.weights = { ...p.weights };
        commit([...INPUTS.map(([k]) => [k, st[k]]), ["weights", { ...st.weights }]]);
        syncControls(); update();
        say("");
      } });
    presetButtons.push(btn);
    presetRow.append(btn);
  }
  const peep = checkbox({ label: "peephole connections (diagonal): the gates also see the cell", name: "peephole",
    checked: st.peephole, onChange: (v) => { st.peephole = v; commit([["peephole", v]]); syncControls(); update(); } });
  const wBox = h("details", {}, h("summary", { text: "Weights and biases (W_x· meets x_t, W_h· meets h_{t-1}, w_c· meets the cell)" }));
  for (const [g, title] of GATES) {
    const fs = h("fieldset", {}, h("legend", { text: title }));
    for (const k of [`W_x${g}`, `W_h${g}`, `b_${g}`, ...(g === "C" ? [] : [`w_c${g}`])]) {
      weights[k] = slider({ label: k, name: k, min: -BOUNDS.w, max: BOUNDS.w, step: 0.1, value: st.weights[k], say,
        onValue: (v) => { st.weights = { ...st.weights, [k]: v }; commit([["weights", { ...st.weights }]]); update(); } });
      fs.append(weights[k].row);
    }
    wBox.append(fs);
  }

  const bars = {
    f_t: bar({ name: "f_t", symbol: "f_t", lo: 0, hi: 1, eq: "" }),
    i_t: bar({ name: "i_t", symbol: "i_t", lo: 0, hi: 1, eq: "" }),
    C_tilde_t: bar({ name: "C_tilde_t", symbol: "C̃_t", lo: -1, hi: 1, eq: "", color: "var(--cw-b)" }),
    C_t: bar({ name: "C_t", symbol: "C_t", lo: -BOUNDS.C - 1, hi: BOUNDS.C + 1, eq: "C_t = f_t·C_{t-1} + i_t·C̃_t", color: "var(--cw-c)" }),
    o_t: bar({ name: "o_t", symbol: "o_t", lo: 0, hi: 1, eq: "" }),
    h_t: bar({ name: "h_t", symbol: "h_t", lo: -1, hi: 1, eq: "h_t = o_t·tanh(C_t)", color: "var(--cw-e)" }),
  };
  const kept = h("span", { "data-path": "kept" }), written = h("span", { "data-path": "written" });
  const pathNote = h("div", { class: "cw-note" });
  const peepNote = h("div", { class: "cw-note" });
  const outBox = h("fieldset", {}, h("legend", { text: "Gates and states" }),
    ...["f_t", "i_t", "C_tilde_t"].map((k) => bars[k].row),
    h("div", { class: "cw-path", "aria-label": "the two paths into Cₜ" }, h("span", { text: "C_t = " }), kept, " + ", written),
    pathNote, bars.C_t.row, bars.o_t.row, bars.h_t.row, peepNote);
  root.append(h("div", { class: "cw-grid2" }, h("div", {}, inBox, presetRow, peep.row, wBox), outBox));

  function syncControls() {
    for (const [k] of INPUTS) inputs[k].set(st[k]);
    for (const k of Object.keys(weights)) {
      weights[k].set(st.weights[k]);
      if (PEEP.includes(k)) { weights[k].range.disabled = !st.peephole; weights[k].box.disabled = !st.peephole; }
    }
    peep.box.checked = st.peephole;
  }
  const pre = (g, C) => {
    const w = st.weights;
    let a = w[`W_x${g}`] * st.x_t + w[`W_h${g}`] * st.h_prev + w[`b_${g}`];
    if (st.peephole && g !== "C") a += w[`w_c${g}`] * C;
    return a;
  };
  function update() {
    const w = Object.fromEntries(Object.entries(st.weights).map(([k, v]) => [k, k.startsWith("b_") || k.startsWith("w_c") ? [v] : [[v]]]));
    const s = lstmStep([st.x_t], [st.h_prev], [st.C_prev], w, st.peephole ? "diagonal" : null);
    const v = Object.fromEntries(Object.entries(s).map(([k, a]) => [k, a[0]]));
    const p = st.peephole;
    const eq = (g, act, C) => `${g === "C" ? "C̃" : g}_t = ${act}(W_x${g}·x_t + W_h${g}·h_{t-1}${p && g !== "C" ? ` + w_c${g}·${C}` : ""} + b_${g}) = ${act}(${fmt(pre(g, g === "o" ? v.C_t : st.C_prev), 3)})`;
    put(bars.f_t.eqEl, eq("f", "σ", "C_{t-1}"));
    put(bars.i_t.eqEl, eq("i", "σ", "C_{t-1}"));
    put(bars.C_tilde_t.eqEl, eq("C", "tanh", ""));
    put(bars.o_t.eqEl, eq("o", "σ", "C_t"));
    put(bars.h_t.eqEl, `h_t = o_t·tanh(C_t) = ${fmt(v.o_t, 3)}·tanh(${fmt(v.C_t, 3)})`);
    for (const k of Object.keys(bars)) bars[k].set(v[k]);
    hNote.hidden = GATES.some(([g]) => st.weights[`W_h${g}`] !== 0);
    const keep = v.f_t * st.C_prev, write = v.i_t * v.C_tilde_t;
    put(kept, `kept f_t·C_{t-1} = ${fmt(keep)}`);
    put(written, `written i_t·C̃_t = ${fmt(write)}`);
    const keepWins = Math.abs(keep) >= Math.abs(write);
    kept.classList.toggle("cw-dominant", keepWins);
    written.classList.toggle("cw-dominant", !keepWins);
    bars.f_t.row.classList.toggle("cw-dominant", keepWins);
    bars.i_t.row.classList.toggle("cw-dominant", !keepWins);
    bars.C_tilde_t.row.classList.toggle("cw-dominant", !keepWins);
    put(pathNote, keepWins
      ? `The kept path dominates C_t: the cell mostly remembers C_{t-1} (|${fmt(keep, 3)}| ≥ |${fmt(write, 3)}|).`
      : `The written path dominates C_t: the cell mostly stores the new candidate (|${fmt(write, 3)}| > |${fmt(keep, 3)}|).`);
    put(peepNote, p
      ? `Peepholes on: C_{t-1} = ${fmt(st.C_prev, 3)} feeds f_t (w_cf = ${fmt(st.weights.w_cf, 2)}) and i_t (w_ci = ${fmt(st.weights.w_ci, 2)}); the new C_t = ${fmt(v.C_t, 3)} feeds o_t (w_co = ${fmt(st.weights.w_co, 2)}).`
      : "Peepholes off: the gates see only x_t and h_{t-1}.");
    // the preset the current state is (if any) shows as pressed
    presetButtons.forEach((b) => {
      const q = st.presets[b.getAttribute("data-preset")];
      const same = q && INPUTS.every(([k]) => q[k] === st[k]) && WEIGHTS.every((k) => q.weights[k] === st.weights[k]);
      b.setAttribute("aria-pressed", String(!!same));
    });
    root.setAttribute("data-ready", "1");
  }
  syncControls();
  update();
  return listen(["x_t", "h_prev", "C_prev", "weights", "peephole", "presets"], () => { st = load(); syncControls(); update(); });
}
export default { render };
