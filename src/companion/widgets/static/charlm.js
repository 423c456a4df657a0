// Chapter 12's sampler: the trained character LSTM run in the page, equal to companion.charlm.
// One step (slide 10, torch's gate order i, f, g, o), x_t one-hot: W_ih x_t is column k of W_ih:
//   a = W_ih[:, k] + b_ih + b_hh + W_hh h_{t-1};  i, f, o = sigma(a_i, a_f, a_o), C~ = tanh(a_g)
//   C_t = f * C_{t-1} + i * C~,  h_t = o * tanh(C_t),  o_t = c + V h_t
// Sampling: p = softmax(o_t / tau), u = SplitMix64(seed).random(), the first k with
// u < p_0 + ... + p_k (companion.charlm.draw). Weights: float32, base64, in the widget's state.
import { SplitMix64 } from "./rng.js";
import { sigmoid } from "./cells.js";
import { h, frame, put, slider } from "./ui.js";

export function decodeF32(b64) {
  const s = atob(b64), u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return Float64Array.from(new Float32Array(u8.buffer));
}

export function createModel(w) {
  const K = w.vocab.length, H = w.H, m = { K, H, vocab: w.vocab, index: new Map() };
  for (const n of ["W_ih", "W_hh", "b_ih", "b_hh", "V", "c"]) m[n] = w[n] instanceof Float64Array ? w[n] : decodeF32(w[n]);
  if (m.W_ih.length !== 4 * H * K || m.W_hh.length !== 4 * H * H || m.V.length !== K * H)
    throw new Error("weights: sizes do not fit an LSTM of H units over the vocabulary");
  [...w.vocab].forEach((ch, k) => m.index.set(ch, k));
  m.a = new Float64Array(4 * H);
  return m;
}

// One step from character k: updates hh, C in place; returns nothing (logits via logits()).
export function step(m, k, hh, C) {
  const { H, K, W_ih, W_hh, b_ih, b_hh, a } = m;
  for (let j = 0; j < 4 * H; j++) {
    let s = 0;
    const row = j * H;
    for (let i = 0; i < H; i++) s += W_hh[row + i] * hh[i];
    a[j] = W_ih[j * K + k] + b_ih[j] + s + b_hh[j];
  }
  for (let j = 0; j < H; j++) {
    const ig = sigmoid(a[j]), fg = sigmoid(a[H + j]), g = Math.tanh(a[2 * H + j]), og = sigmoid(a[3 * H + j]);
    C[j] = fg * C[j] + ig * g;
    hh[j] = og * Math.tanh(C[j]);
  }
}

export function logits(m, hh, out) {
  const { H, K, V, c } = m;
  for (let k = 0; k < K; k++) {
    let s = c[k];
    for (let i = 0; i < H; i++) s += V[k * H + i] * hh[i];
    out[k] = s;
  }
  return out;
}

export function softmaxT(o, tau) {
  let mx = -Infinity;
  for (const v of o) mx = Math.max(mx, v);
  const p = new Float64Array(o.length);
  let s = 0;
  for (let k = 0; k < o.length; k++) { p[k] = Math.exp((o[k] - mx) / tau); s += p[k]; }
  for (let k = 0; k < o.length; k++) p[k] /= s;
  return p;
}

export function draw(p, u) {
  let acc = 0, last = 0;
  for (let k = 0; k < p.length; k++) {
    acc += p[k];
    if (p[k] > 0) last = k;
    if (u < acc) return k;
  }
  return last;
}

function ids(m, text) {
  const out = [];
  for (const ch of text) {
    if (!m.index.has(ch)) throw new Error(`prime: the character “${ch}” is not in the model's vocabulary`);
    out.push(m.index.get(ch));
  }
  return out;
}

export function sample(m, prime, n, tau, seed) {
  const p0 = ids(m, prime);
  if (!p0.length) throw new Error("prime: expected at least one character");
  const hh = new Float64Array(m.H), C = new Float64Array(m.H), o = new Float64Array(m.K), rng = new SplitMix64(seed);
  for (const k of p0) step(m, k, hh, C);
  let text = "";
  for (let t = 0; t < n; t++) {
    const k = draw(softmaxT(logits(m, hh, o), tau), rng.random());
    text += m.vocab[k];
    step(m, k, hh, C);
  }
  return text;
}

// The cells C_t (T x H, row t after reading character t) over a text: what the unit view colours.
export function cells(m, text) {
  const k = ids(m, text), hh = new Float64Array(m.H), C = new Float64Array(m.H);
  const out = new Float64Array(k.length * m.H);
  k.forEach((kk, t) => { step(m, kk, hh, C); out.set(C, t * m.H); });
  return out;
}

function colour(v) {           // tanh(C) in (-1, 1): blue below 0, orange above
  const a = Math.min(1, Math.abs(Math.tanh(v)));
  return v >= 0 ? `rgba(230,120,20,${a.toFixed(2)})` : `rgba(40,100,220,${a.toFixed(2)})`;
}

export function render({ model, el }) {
  const { root, say } = frame(el, "Sample from the trained character LSTM");
  let m;
  try { m = createModel(model.get("weights")); } catch (e) { say(`State refused: ${e.message}`); return; }
  const st = { prime: String(model.get("prime") ?? "The "), tau: Number(model.get("temperature") ?? 1),
               seed: Number(model.get("seed") ?? 0), n: Number(model.get("length") ?? 200),
               unit: Math.min(m.H - 1, Number(model.get("unit") ?? 0)) };
  const primeBox = h("input", { type: "text", id: `cw-prime-${Math.random().toString(36).slice(2)}`, value: st.prime, "data-name": "prime" });
  const num = (label, name, min, max, value, on) => {
    const inp = h("input", { type: "number", min, max, step: 1, value, "data-name": name });
    inp.addEventListener("change", () => {
      const v = Number(inp.value);
      if (!Number.isInteger(v) || v < min || v > max) { say(`${label}: expected an integer in [${min}, ${max}]`); inp.value = String(st[name]); return; }
      say(""); on(v);
    });
    return h("label", { class: "cw-row" }, `${label} `, inp);
  };
  const out = h("pre", { class: "cw-charlm-out", "data-out": "text", "aria-live": "polite" });
  out.style.whiteSpace = "pre-wrap";
  const view = h("div", { class: "cw-charlm-view", "data-out": "view", "aria-label": "text coloured by the unit's cell" });
  view.style.cssText = "white-space:pre-wrap;font-family:monospace;line-height:1.5";
  const info = h("div", { class: "cw-eq", "data-out": "unit-info" });
  let spans = [], act = null, viewText = String(model.get("view_text") ?? "");
  const paint = () => {
    const H = m.H, u = st.unit;
    for (let t = 0; t < spans.length; t++) spans[t].style.backgroundColor = colour(act[t * H + u]);
    put(info, `unit ${u}: orange where tanh(C_t[${u}]) > 0, blue where < 0`);
  };
  const showView = (text) => {
    try { act = cells(m, text); } catch (e) { say(e.message); return; }
    spans = [...text].map((ch) => h("span", { text: ch }));
    view.replaceChildren(...spans);
    paint();
  };
  const generate = () => {
    try {
      const text = sample(m, st.prime, st.n, st.tau, st.seed);
      out.textContent = "";
      out.append(h("b", { text: st.prime }), text);
      say("");
      viewText = st.prime + text;
      showView(viewText);
      model.set("text", text);
      model.save_changes();
    } catch (e) { say(e.message); }
  };
  primeBox.addEventListener("change", () => { st.prime = primeBox.value; });
  const tau = slider({ label: "temperature τ", name: "temperature", min: 0.1, max: 2, step: 0.05, value: st.tau,
                       say, onValue: (v) => { st.tau = v; } });
  const unit = slider({ label: "unit k", name: "unit", min: 0, max: m.H - 1, step: 1, value: st.unit, digits: 0,
                        say, onValue: (v) => { st.unit = v; paint(); } });
  const btn = h("button", { type: "button", "data-name": "generate", text: "Generate", onclick: generate });
  root.append(h("div", { class: "cw-row" }, h("label", { for: primeBox.id, text: "prime " }), primeBox),
    tau.row, num("seed", "seed", 0, 2 ** 31 - 1, st.seed, (v) => { st.seed = v; }),
    num("length", "n", 1, 2000, st.n, (v) => { st.n = v; }), btn, out,
    h("div", { class: "cw-title", text: "Colour the text by one unit's cell" }), unit.row, info, view);
  showView(viewText);
  root.setAttribute("data-ready", "1");
}
export default { render };
