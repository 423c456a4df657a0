// GRU explorer (slide 16): z_t, r_t, h_tilde_t, h_t in the slides' form or torch.nn.GRU's.
import { gruStep } from "./cells.js";
import { BOUNDS, bar, checkChoice, checkNum, fmt, frame, h, put, link, read, select, slider } from "./ui.js";

const WEIGHTS = ["W_xz", "W_hz", "b_z", "W_xr", "W_hr", "b_r", "W_xh", "W_hh", "b_xh", "b_hh"];
const INPUTS = [["x_t", "x_t (input)", BOUNDS.x], ["h_prev", "h_{t-1} (last state)", BOUNDS.h]];
const Z = ["W_xz", "W_hz", "b_z"];
const EQ = {
  lecture: {
    h_tilde_t: "h̃_t = tanh(W_xh·x_t + b_xh + W_hh·(r_t·h_{t-1}) + b_hh)",
    h_t: "h_t = (1 − z_t)·h_{t-1} + z_t·h̃_t   (z_t = 1 writes, z_t = 0 keeps)",
  },
  torch: {
    h_tilde_t: "h̃_t = tanh(W_xh·x_t + b_xh + r_t·(W_hh·h_{t-1} + b_hh))",
    h_t: "h_t = (1 − z_t)·h̃_t + z_t·h_{t-1}   (z_t = 1 keeps, z_t = 0 writes)",
  },
};
function checkWeights(w) {
  if (!w || typeof w !== "object" || Array.isArray(w)) throw new Error("weights: expected an object");
  return Object.fromEntries(WEIGHTS.map((k) => [k, checkNum(`weights.${k}`, w[k], BOUNDS.w)]));
}
const other = (v) => (v === "lecture" ? "torch" : "lecture");
const mapped = (w) => ({ ...w, ...Object.fromEntries(Z.map((k) => [k, -w[k]])) });
const step = (x, hp, w, variant) => {
  const m = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, k.startsWith("b_") ? [v] : [[v]]]));
  return Object.fromEntries(Object.entries(gruStep([x], [hp], m, variant)).map(([k, a]) => [k, a[0]]));
};

export function render({ model, el }) {
  const { root, say } = frame(el, "GRU explorer (one unit): the slides' form and PyTorch's");
  const { commit, listen } = link(model);
  const load = () => {
    const s = {};
    for (const [k, , b] of INPUTS) s[k] = read(model, k, (v) => checkNum(k, v, b), 0, say);
    s.weights = read(model, "weights", checkWeights, Object.fromEntries(WEIGHTS.map((k) => [k, 0])), say);
    s.variant = read(model, "variant", (v) => checkChoice("variant", v, ["lecture", "torch"]), "lecture", say);
    return s;
  };
  let st = load();
  const sliders = {};
  const inBox = h("fieldset", {}, h("legend", { text: "Inputs" }));
  for (const [k, label, b] of INPUTS) {
    sliders[k] = slider({ label, name: k, min: -b, max: b, value: st[k], say, onValue: (v) => { st[k] = v; commit([[k, v]]); update(); } });
    inBox.append(sliders[k].row);
  }
  const form = select({ label: "Form:", name: "variant", value: st.variant,
    options: [["lecture", "slides (lecture)"], ["torch", "PyTorch (torch.nn.GRU)"]],
    onChange: (v) => {
      // the other form: negate z's weights and bias (1 − σ(a) = σ(−a))
      st.variant = v; st.weights = mapped(st.weights);
      commit([["variant", v], ["weights", { ...st.weights }]]); syncControls(); update();
    } });
  const wBox = h("details", {}, h("summary", { text: "Weights and biases (of the form shown)" }));
  for (const k of WEIGHTS) {
    sliders[k] = slider({ label: k, name: k, min: -BOUNDS.w, max: BOUNDS.w, step: 0.1, value: st.weights[k], say,
      onValue: (v) => { st.weights = { ...st.weights, [k]: v }; commit([["weights", { ...st.weights }]]); update(); } });
    wBox.append(sliders[k].row);
  }
  const setW = (patch) => { st.weights = { ...st.weights, ...patch }; commit([["weights", { ...st.weights }]]); syncControls(); update(); };
  const tools = h("div", {},
    h("button", { type: "button", "data-action": "bhh0", text: "set b_hh = 0", onclick: () => setW({ b_hh: 0 }) }),
    h("button", { type: "button", "data-action": "reset-open", text: "open the reset (r_t ≈ 1)", onclick: () => setW({ W_xr: 0, W_hr: 0, b_r: BOUNDS.w }) }));
  const bars = {
    z_t: bar({ name: "z_t", symbol: "z_t", lo: 0, hi: 1, eq: "z_t = σ(W_xz·x_t + W_hz·h_{t-1} + b_z)" }),
    r_t: bar({ name: "r_t", symbol: "r_t", lo: 0, hi: 1, eq: "r_t = σ(W_xr·x_t + W_hr·h_{t-1} + b_r)" }),
    h_tilde_t: bar({ name: "h_tilde_t", symbol: "h̃_t", lo: -1, hi: 1, eq: "", color: "var(--cw-b)" }),
    h_t: bar({ name: "h_t", symbol: "h_t", lo: -1, hi: 1, eq: "", color: "var(--cw-e)" }),
  };
  const cmpTitle = h("legend", {});
  const cmpOther = bar({ name: "h_t_other", symbol: "h_t", lo: -1, hi: 1, eq: "", color: "var(--cw-e)" });
  const diff = h("div", { class: "cw-note" }, "difference: ", h("span", { class: "cw-val", "data-out": "h_t_diff" }));
  const why = h("div", { class: "cw-note" });
  const cmp = h("fieldset", {}, cmpTitle, cmpOther.row, diff, why);
  root.append(h("div", { class: "cw-grid2" },
    h("div", {}, inBox, h("div", {}, form.row), wBox, tools),
    h("div", {}, h("fieldset", {}, h("legend", { text: "Gates and state" }), ...Object.values(bars).map((b) => b.row)), cmp)));

  function syncControls() {
    for (const [k] of INPUTS) sliders[k].set(st[k]);
    for (const k of WEIGHTS) sliders[k].set(st.weights[k]);
    form.sel.value = st.variant;
  }
  function update() {
    const s = step(st.x_t, st.h_prev, st.weights, st.variant);
    const o = step(st.x_t, st.h_prev, mapped(st.weights), other(st.variant));
    put(bars.h_tilde_t.eqEl, EQ[st.variant].h_tilde_t);
    put(bars.h_t.eqEl, EQ[st.variant].h_t);
    for (const k of Object.keys(bars)) bars[k].set(s[k]);
    put(cmpTitle, `The same cell in the ${other(st.variant)} form (z's weights and bias negated)`);
    put(cmpOther.eqEl, `${EQ[other(st.variant)].h_t};  its z_t = 1 − ${fmt(s.z_t, 3)} = ${fmt(o.z_t, 3)}`);
    cmpOther.set(o.h_t);
    const d = s.h_t - o.h_t;
    diff.lastChild.textContent = fmt(d, 6);
    diff.lastChild.setAttribute("data-value", String(d));
    const rb = (1 - s.r_t) * st.weights.b_hh;
    put(why, Math.abs(d) < 5e-7
      ? `Equal h_t: with one unit the reset's place only matters through (1 − r_t)·b_hh = ${fmt(rb, 6)}.`
      : `They differ: the slides reset before the product, W_hh·(r_t·h_{t-1}) + b_hh; PyTorch after it, r_t·(W_hh·h_{t-1} + b_hh). `
        + `For one unit that is a difference of (1 − r_t)·b_hh = ${fmt(rb, 4)} inside tanh. Set b_hh = 0 or open the reset and they agree; `
        + `with several units W_hh·(r⊙h) ≠ r⊙(W_hh·h) as well, and only r_t = 1 makes them agree.`);
    root.setAttribute("data-ready", "1");
  }
  update();
  return listen(["x_t", "h_prev", "weights", "variant"], () => { st = load(); syncControls(); update(); });
}
export default { render };
