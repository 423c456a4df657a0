// One time step of each recurrent cell, in the slides' notation: the same
// equations as companion/cells.py (tests/js/cells.test.mjs proves it with
// vectors the Python package writes). One example at a time: vectors are
// arrays of numbers, matrices arrays of rows; W x is matVec(W, x).

// sigma(x) = 1 / (1 + exp(-x)) as 0.5 * (1 + tanh(x / 2)): never overflows.
export function sigmoid(x) { return 0.5 * (1 + Math.tanh(0.5 * x)); }
export function relu(x) { return x > 0 ? x : 0; }

export function matVec(W, x) {
  return W.map((row) => row.reduce((s, w, j) => s + w * x[j], 0));
}
export const add = (...vs) => vs[0].map((_, k) => vs.reduce((s, v) => s + v[k], 0));
export const mul = (a, b) => a.map((v, k) => v * b[k]);
export const map = (a, f) => a.map(f);

// softmax(o)_k = exp(o_k - max o) / sum_j exp(o_j - max o)
export function softmax(o) {
  const m = Math.max(...o);
  const e = o.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

// Vanilla RNN (slide 5): a(t) = b + W h(t-1) + U x(t); h(t) = tanh(a(t));
// o(t) = c + V h(t); y_hat(t) = softmax(o(t)). V null: the recurrence alone.
export function rnnStep(x_t, h_prev, U, W, b, V = null, c = null, nonlinearity = "tanh") {
  const a_t = add(b, matVec(W, h_prev), matVec(U, x_t));
  const h_t = map(a_t, nonlinearity === "tanh" ? Math.tanh : relu);
  if (!V) return { a_t, h_t, o_t: null, y_hat_t: null };
  const Vh = matVec(V, h_t);
  const o_t = c ? add(c, Vh) : Vh;
  return { a_t, h_t, o_t, y_hat_t: softmax(o_t) };
}

// Peephole term: w * C for a diagonal weight (a vector), W C for a full one (rows).
const peep = (w, C) => (Array.isArray(w[0]) ? matVec(w, C) : mul(w, C));

// LSTM (slide 10), peephole null | "diagonal" | "full" (slide 12):
// f_t = sigma(W_hf h + W_xf x + b_f [+ w_cf C_{t-1}]), i_t likewise,
// C_tilde_t = tanh(W_hC h + W_xC x + b_C), C_t = f_t * C_{t-1} + i_t * C_tilde_t,
// o_t = sigma(W_ho h + W_xo x + b_o [+ w_co C_t]), h_t = o_t * tanh(C_t).
export function lstmStep(x_t, h_prev, C_prev, w, peephole = null) {
  const pre = (g) => add(matVec(w["W_h" + g], h_prev), matVec(w["W_x" + g], x_t), w["b_" + g]);
  let f_pre = pre("f"), i_pre = pre("i");
  if (peephole) {
    f_pre = add(f_pre, peep(w.w_cf, C_prev));
    i_pre = add(i_pre, peep(w.w_ci, C_prev));
  }
  const f_t = map(f_pre, sigmoid);
  const i_t = map(i_pre, sigmoid);
  const C_tilde_t = map(pre("C"), Math.tanh);
  const C_t = add(mul(f_t, C_prev), mul(i_t, C_tilde_t));
  let o_pre = pre("o");
  if (peephole) o_pre = add(o_pre, peep(w.w_co, C_t));   // o sees the new cell C_t
  const o_t = map(o_pre, sigmoid);
  const h_t = mul(o_t, map(C_t, Math.tanh));
  return { f_t, i_t, C_tilde_t, C_t, o_t, h_t };
}

// GRU (slide 16), variant "lecture":
//   h_tilde_t = tanh(W_xh x + b_xh + W_hh (r * h) + b_hh), h_t = (1 - z) * h + z * h_tilde
// variant "torch" (torch.nn.GRU):
//   h_tilde_t = tanh(W_xh x + b_xh + r * (W_hh h + b_hh)), h_t = (1 - z) * h_tilde + z * h
export function gruStep(x_t, h_prev, w, variant = "lecture") {
  const z_t = map(add(matVec(w.W_hz, h_prev), matVec(w.W_xz, x_t), w.b_z), sigmoid);
  const r_t = map(add(matVec(w.W_hr, h_prev), matVec(w.W_xr, x_t), w.b_r), sigmoid);
  const xh = add(matVec(w.W_xh, x_t), w.b_xh);
  let hh_t, h_tilde_t, h_t;
  if (variant === "lecture") {
    hh_t = add(matVec(w.W_hh, mul(r_t, h_prev)), w.b_hh);
    h_tilde_t = map(add(xh, hh_t), Math.tanh);
    h_t = h_prev.map((h, k) => (1 - z_t[k]) * h + z_t[k] * h_tilde_t[k]);
  } else {
    hh_t = add(matVec(w.W_hh, h_prev), w.b_hh);
    h_tilde_t = map(add(xh, mul(r_t, hh_t)), Math.tanh);
    h_t = h_prev.map((h, k) => (1 - z_t[k]) * h_tilde_t[k] + z_t[k] * h);
  }
  return { z_t, r_t, h_tilde_t, h_t, hh_t };
}

// A whole sequence through one cell; returns per-step traces named like
// companion's layer.traces: rnn a, h; lstm f, i, C_tilde, C, o, h; gru z, r, h_tilde, h.
export function runSequence(kind, xs, w, { h0, C0, peephole = null, variant = "lecture",
                                          nonlinearity = "tanh" } = {}) {
  const H = kind === "rnn" ? w.W.length : kind === "lstm" ? w.W_hf.length : w.W_hz.length;
  let h = h0 || new Array(H).fill(0), C = C0 || new Array(H).fill(0);
  const names = { rnn: ["a", "h"], lstm: ["f", "i", "C_tilde", "C", "o", "h"],
                  gru: ["z", "r", "h_tilde", "h"] }[kind];
  const tr = Object.fromEntries(names.map((n) => [n, []]));
  for (const x of xs) {
    let s;
    if (kind === "rnn") s = rnnStep(x, h, w.U, w.W, w.b, null, null, nonlinearity);
    else if (kind === "lstm") { s = lstmStep(x, h, C, w, peephole); C = s.C_t; }
    else s = gruStep(x, h, w, variant);
    h = s.h_t;
    for (const n of names) tr[n].push(s[n + "_t"]);
  }
  return tr;
}
