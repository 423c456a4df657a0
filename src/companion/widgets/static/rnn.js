// Vanilla RNN cell (slide 5): a_t, h_t = tanh(a_t), o_t, y_hat_t = softmax(o_t).
import { rnnStep } from "./cells.js";
import { BOUNDS, bar, checkChoice, checkNum, checkVec, fmt, frame, h, put, link, read, select, slider } from "./ui.js";

const SCALARS = [["x_t", "x_t (input)", BOUNDS.x, 0.05], ["h_prev", "h_{t-1} (last state)", BOUNDS.h, 0.05],
                 ["U", "U (input weight)", BOUNDS.w, 0.1], ["W", "W (recurrent weight)", BOUNDS.w, 0.1],
                 ["b", "b (bias)", BOUNDS.w, 0.1]];
const A = 6;   // the tanh plot spans a in [-A, A]

export function render({ model, el }) {
  const { root, say } = frame(el, "Vanilla RNN cell (one unit, K outputs)");
  const { commit, listen } = link(model);
  const load = () => {
    const s = {};
    for (const [k, , b] of SCALARS) s[k] = read(model, k, (v) => checkNum(k, v, b), 0, say);
    s.V = read(model, "V", (v) => checkVec("V", v, null, BOUNDS.w, BOUNDS.maxK), [1, -1], say);
    s.c = read(model, "c", (v) => checkVec("c", v, s.V.length, BOUNDS.w, BOUNDS.maxK), s.V.map(() => 0), say);
    s.nonlinearity = read(model, "nonlinearity", (v) => checkChoice("nonlinearity", v, ["tanh", "relu"]), "tanh", say);
    return s;
  };
  let st = load();
  const sliders = {};
  const inBox = h("fieldset", {}, h("legend", { text: "Inputs and weights" }));
  for (const [k, label, b, step] of SCALARS) {
    sliders[k] = slider({ label, name: k, min: -b, max: b, step, value: st[k], say,
      onValue: (v) => { st[k] = v; commit([[k, v]]); update(); } });
    inBox.append(sliders[k].row);
  }
  const nl = select({ label: "f =", name: "nonlinearity", options: [["tanh", "tanh (slide 5)"], ["relu", "ReLU"]],
    value: st.nonlinearity, onChange: (v) => { st.nonlinearity = v; commit([["nonlinearity", v]]); update(); } });
  inBox.append(h("div", {}, nl.row));
  const headNote = h("div", { class: "cw-note" });
  inBox.append(headNote);

  const aBar = bar({ name: "a_t", symbol: "a_t", lo: -A, hi: A, eq: "" });
  const hBar = bar({ name: "h_t", symbol: "h_t", lo: -1, hi: 1, eq: "", color: "var(--cw-e)" });
  // tanh curve, operating point
  const W_ = 300, H_ = 110, px = (a) => ((a + A) / (2 * A)) * W_, py = (y) => H_ / 2 - y * (H_ / 2 - 6);
  const curve = [];
  for (let k = 0; k <= 120; k++) { const a = -A + (2 * A * k) / 120; curve.push(`${px(a).toFixed(1)},${py(Math.tanh(a)).toFixed(1)}`); }
  const dot = h("circle", { r: 5, fill: "var(--cw-hi)", stroke: "currentColor" });
  const satL = h("rect", { x: 0, y: 0, width: px(-2), height: H_, fill: "var(--cw-track)" });
  const satR = h("rect", { x: px(2), y: 0, width: W_ - px(2), height: H_, fill: "var(--cw-track)" });
  const svgTitle = h("title", { text: "tanh(a) with the current a_t marked" });
  const svg = h("svg", { viewBox: `-4 -4 ${W_ + 8} ${H_ + 20}`, width: W_, role: "img", "aria-label": "tanh curve" },
    svgTitle, satL, satR,
    h("line", { x1: 0, x2: W_, y1: py(0), y2: py(0), stroke: "currentColor", "stroke-opacity": 0.4 }),
    h("line", { x1: px(0), x2: px(0), y1: 0, y2: H_, stroke: "currentColor", "stroke-opacity": 0.4 }),
    h("polyline", { points: curve.join(" "), fill: "none", stroke: "var(--cw-a)", "stroke-width": 2 }),
    h("text", { x: 2, y: H_ + 14, "font-size": 11, fill: "currentColor", text: "saturated (|a| > 2)" }),
    h("text", { x: W_ - 2, y: H_ + 14, "font-size": 11, fill: "currentColor", "text-anchor": "end", text: "saturated" }),
    dot);
  const satNote = h("div", { class: "cw-note", "data-out": "saturation" });
  const headBox = h("div", {});
  const outBox = h("fieldset", {}, h("legend", { text: "Step" }), aBar.row, hBar.row, svg, satNote, headBox);
  root.append(h("div", { class: "cw-grid2" }, inBox, outBox));
  let headBars = [];

  function update() {
    const K = st.V.length;
    if (headBars.length !== K) {
      headBars = [];
      headBox.replaceChildren(h("div", { class: "cw-note", text: "o_t = c + V·h_t;  ŷ_t = softmax(o_t)" }));
      for (let k = 0; k < K; k++) {
        const o = bar({ name: `o_t_${k}`, symbol: `o_t[${k}]`, lo: -BOUNDS.w, hi: BOUNDS.w, eq: "" });
        const y = bar({ name: `y_hat_t_${k}`, symbol: `ŷ_t[${k}]`, lo: 0, hi: 1, eq: "", color: "var(--cw-c)" });
        o.eqEl.remove(); y.eqEl.remove();
        headBars.push([o, y]); headBox.append(o.row, y.row);
      }
    }
    const s = rnnStep([st.x_t], [st.h_prev], [[st.U]], [[st.W]], [st.b], st.V.map((v) => [v]), st.c, st.nonlinearity);
    const a = s.a_t[0], ht = s.h_t[0];
    put(aBar.eqEl, `a_t = b + W·h_{t-1} + U·x_t = ${fmt(st.b, 2)} + ${fmt(st.W, 2)}·${fmt(st.h_prev, 2)} + ${fmt(st.U, 2)}·${fmt(st.x_t, 2)}`);
    put(hBar.eqEl, `h_t = ${st.nonlinearity}(a_t)`);
    aBar.set(a); hBar.set(ht);
    put(headNote, `Output head (from Python): V = [${st.V.map((v) => fmt(v, 2)).join(", ")}], c = [${st.c.map((v) => fmt(v, 2)).join(", ")}]`);
    for (let k = 0; k < K; k++) { headBars[k][0].set(s.o_t[k]); headBars[k][1].set(s.y_hat_t[k]); }
    const ac = Math.max(-A, Math.min(A, a));
    dot.setAttribute("cx", px(ac).toFixed(1));
    dot.setAttribute("cy", py(st.nonlinearity === "tanh" ? Math.tanh(ac) : Math.min(1, Math.max(0, ac))).toFixed(1));
    if (st.nonlinearity === "tanh") {
      const d = 1 - ht * ht;
      put(satNote, `tanh′(a_t) = 1 − h_t² = ${fmt(d)}: ` + (d < 0.1
        ? "saturated: h_t barely moves when a_t changes, and the gradient through this step almost vanishes."
        : "in the responsive middle of tanh."));
    } else {
      put(satNote, a > 0 ? "ReLU: active, slope 1 (no saturation above 0)." : "ReLU: a_t ≤ 0, output 0 and slope 0.");
    }
    root.setAttribute("data-ready", "1");
  }
  update();
  return listen(["x_t", "h_prev", "U", "W", "b", "V", "c", "nonlinearity"], () => {
    st = load();
    for (const [k] of SCALARS) sliders[k].set(st[k]);
    nl.sel.value = st.nonlinearity;
    update();
  });
}
export default { render };
