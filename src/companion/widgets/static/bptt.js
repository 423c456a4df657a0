// BPTT for RNN, LSTM, GRU and the softmax head: companion.layers and companion.head's
// equations, proved equal by tests/js/bptt.test.mjs (vectors from companion.widgets.bptt_vectors).
// Layout: flat Float64Array, time-major x[(t*B + b)*D + d] (batch_first=False). Parameters p = { weight_ih_l0 (G*H, D), weight_hh_l0 (G*H, H),
// bias_ih_l0 (G*H), bias_hh_l0 (G*H) }, torch's gate blocks: RNN G=1; LSTM i, f, g, o;
// GRU r, z, n.
//
// function layerForward(kind /* "rnn"|"lstm"|"gru" */, p, x, T, B, D, H,
//     opts = { nonlinearity: "tanh"|"relu", variant: "torch"|"lecture", h0: null, c0: null, reuse: null })
//   -> cache { kind, T, B, D, H, out /* T*B*H: h_1..h_T */, hT, cT /* B*H: final state */, ... }
//   h0, c0: B*H or null (zeros). reuse: an earlier cache of the same kind and sizes, whose
//   buffers are overwritten (that cache and its results are then invalid).
// function layerBackward(cache, dOut /* T*B*H dL/dh_t from above, or null */, dhT = null, dcT = null,
//     dxSteps = T /* dx only for t < dxSteps: the training run asks for t = 0 alone */)
//   -> { grads: { weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 }, dx /* T*B*D */,
//        dh /* T*B*H: the TOTAL dL/dh_t (from above + through time) */, dh0 /* B*H */, dc0 /* B*H or null */ }
//   The arrays belong to the cache: a second backward of it overwrites them.
// function headForward(h /* B*H */, V /* K*H */, c /* K */, B, H, K, out = null) -> logits B*K
// function softmaxCrossEntropy(logits, targets /* Int32Array B */, B, K)
//   -> { loss /* mean over B of -log p[target] */, probs, dLogits /* (p - onehot) / B */, correct }
// function headBackward(dLogits, h, V, B, H, K) -> { dV /* K*H */, dc /* K */, dh /* B*H */ }

// sigma(x) = 0.5 * (1 + tanh(x / 2)): never overflows, as companion.activations.sigmoid
const sig = (x) => 0.5 * (1 + Math.tanh(0.5 * x));
export const LAYER_GATES = { rnn: 1, lstm: 4, gru: 3 };
export const PARAM_NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

function need(name, a, n) {
  if (!(a instanceof Float64Array) || a.length !== n)
    throw new RangeError(`${name}: expected a Float64Array of length ${n}, got ${a && a.constructor.name} of length ${a && a.length}`);
}

// the transpose of a (rows, cols) matrix into out (cols, rows)
function transpose(W, rows, cols, out) {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = W[r * cols + c];
  return out;
}

function buffers(kind, T, B, D, H, reuse) {
  if (reuse && reuse.kind === kind && reuse.T === T && reuse.B === B && reuse.D === D && reuse.H === H) {
    reuse.back = reuse.back || null;
    return reuse;
  }
  const GH = LAYER_GATES[kind] * H;
  const c = { kind, T, B, D, H, G: LAYER_GATES[kind], A: new Float64Array(T * B * GH),
    hs: new Float64Array((T + 1) * B * H), WihT: new Float64Array(D * GH), back: null };
  c.out = c.hs.subarray(B * H);
  c.hT = c.hs.subarray(T * B * H);
  if (kind === "lstm") { c.cs = new Float64Array((T + 1) * B * H); c.tanhC = new Float64Array(T * B * H); c.cT = c.cs.subarray(T * B * H); }
  if (kind === "gru") c.HN = new Float64Array(T * B * H);
  return c;
}

export function layerForward(kind, p, x, T, B, D, H, opts = {}) {
  const G = LAYER_GATES[kind];
  if (!G) throw new RangeError(`kind: expected "rnn", "lstm" or "gru", got ${kind}`);
  const { nonlinearity = "tanh", variant = "torch", h0 = null, c0 = null, reuse = null } = opts;
  if (nonlinearity !== "tanh" && nonlinearity !== "relu") throw new RangeError(`nonlinearity: expected "tanh" or "relu", got ${nonlinearity}`);
  if (variant !== "torch" && variant !== "lecture") throw new RangeError(`variant: expected "torch" or "lecture", got ${variant}`);
  const GH = G * H, BH = B * H;
  need("x", x, T * B * D);
  need("p.weight_ih_l0", p.weight_ih_l0, GH * D);
  need("p.weight_hh_l0", p.weight_hh_l0, GH * H);
  need("p.bias_ih_l0", p.bias_ih_l0, GH);
  need("p.bias_hh_l0", p.bias_hh_l0, GH);
  if (h0) need("h0", h0, BH);
  if (c0) need("c0", c0, BH);
  const c = buffers(kind, T, B, D, H, reuse);
  Object.assign(c, { p, x, nonlinearity, variant, relu: nonlinearity === "relu", lecture: variant === "lecture" });
  const { A, hs, WihT } = c;
  const Whh = p.weight_hh_l0, bih = p.bias_ih_l0, bhh = p.bias_hh_l0;
  transpose(p.weight_ih_l0, GH, D, WihT);
  if (h0) hs.set(h0, 0); else hs.fill(0, 0, BH);
  if (kind === "lstm") { if (c0) c.cs.set(c0, 0); else c.cs.fill(0, 0, BH); }
  // the GRU keeps b_hn with its product (torch: inside r * (.)); the others add both biases here
  const nb = kind === "gru" ? 2 * H : GH;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const a0 = (t * B + b) * GH, x0 = (t * B + b) * D, hp = t * BH + b * H, ho = hp + BH;
      // the input side: b + W_ih x_t, skipping zeros (one-hot inputs touch one column)
      for (let j = 0; j < GH; j++) A[a0 + j] = j < nb ? bih[j] + bhh[j] : bih[j];
      for (let d = 0; d < D; d++) {
        const xv = x[x0 + d];
        if (xv === 0) continue;
        const w0 = d * GH;
        for (let j = 0; j < GH; j++) A[a0 + j] += xv * WihT[w0 + j];
      }
      // the hidden side: W_hh h_{t-1}, all gate blocks but the lecture GRU's candidate
      const nh = kind === "gru" ? 2 * H : GH;
      for (let j = 0; j < nh; j++) A[a0 + j] += dot(Whh, j * H, hs, hp, H);
      if (kind === "rnn") {
        for (let j = 0; j < H; j++) { const a = A[a0 + j]; hs[ho + j] = c.relu ? (a > 0 ? a : 0) : Math.tanh(a); }
      } else if (kind === "lstm") {
        const cs = c.cs, tc = c.tanhC, to = t * BH + b * H;
        for (let j = 0; j < H; j++) {
          const i = sig(A[a0 + j]), f = sig(A[a0 + H + j]), g = Math.tanh(A[a0 + 2 * H + j]), o = sig(A[a0 + 3 * H + j]);
          A[a0 + j] = i; A[a0 + H + j] = f; A[a0 + 2 * H + j] = g; A[a0 + 3 * H + j] = o;
          const cn = f * cs[hp + j] + i * g, th = Math.tanh(cn);
          cs[ho + j] = cn; tc[to + j] = th; hs[ho + j] = o * th;
        }
      } else {
        const HN = c.HN, n0 = t * BH + b * H;
        for (let j = 0; j < 2 * H; j++) A[a0 + j] = sig(A[a0 + j]);          // r_t, z_t
        if (!c.lecture) {
          // torch: n_t = tanh(W_in x + b_in + r_t * (W_hn h_{t-1} + b_hn)); h_t = n + z (h_{t-1} - n)
          for (let j = 0; j < H; j++) HN[n0 + j] = bhh[2 * H + j] + dot(Whh, (2 * H + j) * H, hs, hp, H);
          for (let j = 0; j < H; j++) {
            const n = Math.tanh(A[a0 + 2 * H + j] + A[a0 + j] * HN[n0 + j]);
            A[a0 + 2 * H + j] = n;
            hs[ho + j] = n + A[a0 + H + j] * (hs[hp + j] - n);
          }
        } else {
          // slides: h~_t = tanh(W_in x + b_in + W_hn (r_t * h_{t-1}) + b_hn); h_t = h + z (h~ - h)
          for (let j = 0; j < H; j++) HN[n0 + j] = A[a0 + j] * hs[hp + j];
          for (let j = 0; j < H; j++) {
            const n = Math.tanh(A[a0 + 2 * H + j] + (bhh[2 * H + j] + dot(Whh, (2 * H + j) * H, HN, n0, H)));
            A[a0 + 2 * H + j] = n;
            hs[ho + j] = hs[hp + j] + A[a0 + H + j] * (n - hs[hp + j]);
          }
        }
      }
    }
  }
  return c;
}

function backBuffers(c) {
  if (c.back) return c.back;
  const { T, B, D, H, G } = c, GH = G * H, TB = T * B;
  const grads = { weight_ih_l0: new Float64Array(GH * D), weight_hh_l0: new Float64Array(GH * H),
    bias_ih_l0: new Float64Array(GH), bias_hh_l0: new Float64Array(GH) };
  c.back = { grads, dx: new Float64Array(TB * D), dh: new Float64Array(TB * H),
    dh0: new Float64Array(B * H), dc0: c.kind === "lstm" ? new Float64Array(B * H) : null,
    dWihT: new Float64Array(D * GH), WhhT: new Float64Array(H * GH), dg: new Float64Array(GH), dhp: new Float64Array(GH),
    dHPT: new Float64Array(GH * TB), hT: new Float64Array(H * TB), HNT: c.kind === "gru" ? new Float64Array(H * TB) : null,
    run: new Float64Array(B * H), prev: new Float64Array(B * H), dc: new Float64Array(B * H) };
  return c.back;
}

// sum_k a[ao + k] b[bo + k], k < n; four partial sums (about 1.3x faster in V8 than one)
function dot(a, ao, b, bo, n) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += a[ao + k] * b[bo + k]; s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2]; s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < n; k++) s0 += a[ao + k] * b[bo + k];
  return (s0 + s1) + (s2 + s3);
}

export function layerBackward(c, dOut = null, dhT = null, dcT = null, dxSteps = c.T) {
  const { kind, T, B, D, H, G, A, hs, x, WihT } = c;
  const GH = G * H, BH = B * H, TB = T * B;
  if (dOut) need("dOut", dOut, TB * H);
  if (dhT) need("dhT", dhT, BH);
  if (dcT) need("dcT", dcT, BH);
  const r = backBuffers(c);
  const { grads, dx, dh, dWihT, WhhT, dg, dhp, dHPT, dc } = r;
  let run = r.run, prev = r.prev;
  const Whh = c.p.weight_hh_l0, lecture = kind === "gru" && c.lecture;
  const dbih = grads.bias_ih_l0, dbhh = grads.bias_hh_l0;
  transpose(Whh, GH, H, WhhT);
  dWihT.fill(0); dbih.fill(0); dbhh.fill(0);
  if (dhT) run.set(dhT); else run.fill(0);
  if (kind === "lstm") { if (dcT) dc.set(dcT); else dc.fill(0); }
  // the hidden-side rows whose gradient reaches h_{t-1} through the product W_hh h_{t-1}
  const nh = lecture ? 2 * H : GH;
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const tb = t * B + b, a0 = tb * GH, x0 = tb * D, hp = t * BH + b * H, ho = hp + BH, rb = b * H;
      // dL/dh_t in total: from above (dOut) and from step t + 1 (run)
      for (let j = 0; j < H; j++) { const v = run[rb + j] + (dOut ? dOut[hp + j] : 0); run[rb + j] = v; dh[hp + j] = v; }
      // dg: dL/d(input-side pre-activations); dhp: dL/d(hidden-side pre-activations)
      if (kind === "rnn") {
        for (let j = 0; j < H; j++) {
          const h = hs[ho + j];
          dg[j] = c.relu ? (h > 0 ? run[rb + j] : 0) : (1 - h * h) * run[rb + j];   // da = dh f'(a)
          dhp[j] = dg[j];
        }
        for (let k = 0; k < H; k++) prev[rb + k] = 0;
      } else if (kind === "lstm") {
        const cs = c.cs, tc = c.tanhC;
        for (let j = 0; j < H; j++) {
          const i = A[a0 + j], f = A[a0 + H + j], g = A[a0 + 2 * H + j], o = A[a0 + 3 * H + j];
          const th = tc[hp + j], d = run[rb + j];
          const dcj = dc[rb + j] + (1 - th * th) * o * d;     // dC_t += dh o (1 - tanh^2 C_t)
          dg[3 * H + j] = d * th * (o * (1 - o));
          dg[j] = dcj * (i * (1 - i) * g);
          dg[H + j] = dcj * (f * (1 - f) * cs[hp + j]);
          dg[2 * H + j] = dcj * ((1 - g * g) * i);
          dc[rb + j] = dcj * f;                                // the highway: dC_{t-1} = dC_t f_t
        }
        for (let j = 0; j < GH; j++) dhp[j] = dg[j];
        for (let k = 0; k < H; k++) prev[rb + k] = 0;
      } else if (!lecture) {
        const HN = c.HN;
        for (let j = 0; j < H; j++) {
          const rr = A[a0 + j], z = A[a0 + H + j], n = A[a0 + 2 * H + j], d = run[rb + j];
          const dn = (1 - n * n) * d * (1 - z);
          dg[2 * H + j] = dn;
          dg[H + j] = (hs[hp + j] - n) * ((1 - z) * z * d);
          dg[j] = dn * HN[hp + j] * (rr * (1 - rr));
          dhp[j] = dg[j]; dhp[H + j] = dg[H + j]; dhp[2 * H + j] = dn * rr;
          prev[rb + j] = d * z;                                // the direct path z_t h_{t-1}
        }
      } else {
        for (let j = 0; j < H; j++) {
          const z = A[a0 + H + j], n = A[a0 + 2 * H + j], d = run[rb + j];
          dg[2 * H + j] = (1 - n * n) * d * z;
          dg[H + j] = (n - hs[hp + j]) * ((1 - z) * z * d);
          prev[rb + j] = d * (1 - z);                          // the direct path (1 - z_t) h_{t-1}
        }
        // d(r h) = W_hn^T dh~_pre; dr_pre = d(r h) h_{t-1} r (1 - r)
        for (let k = 0; k < H; k++) {
          const s = dot(dg, 2 * H, WhhT, k * GH + 2 * H, H), rr = A[a0 + k];
          dg[k] = s * hs[hp + k] * (rr * (1 - rr));
          prev[rb + k] += s * rr;
        }
        for (let j = 0; j < GH; j++) dhp[j] = dg[j];             // rows n meet r h_{t-1}: HN
      }
      // dh_{t-1} through W_hh; dx_t through W_ih; dW_ih from the nonzero inputs
      for (let j = 0; j < GH; j++) dHPT[j * TB + tb] = dhp[j];   // kept for dW_hh after the loop
      for (let k = 0; k < H; k++) prev[rb + k] += dot(dhp, 0, WhhT, k * GH, nh);
      for (let j = 0; j < GH; j++) dbih[j] += dg[j];
      for (let d = 0; d < D; d++) {
        const xv = x[x0 + d], w0 = d * GH;
        if (t < dxSteps) dx[x0 + d] = dot(dg, 0, WihT, w0, GH);
        if (xv !== 0) for (let j = 0; j < GH; j++) dWihT[w0 + j] += xv * dg[j];
      }
    }
    const tmp = run; run = prev; prev = tmp;                   // dL/dh_{t-1} becomes the running one
  }
  r.run = run; r.prev = prev;
  // the hidden-side weights at once: dW_hh[j, k] = sum over t, b of dHP[j, tb] h_{t-1}[tb, k]
  const hT = r.hT;
  transpose(hs, TB, H, hT);                                    // h_{t-1} for all tb: rows 0..TB of hs
  if (lecture) transpose(c.HN, TB, H, r.HNT);
  const dWhh = grads.weight_hh_l0;
  for (let j = 0; j < GH; j++) {
    const src = lecture && j >= 2 * H ? r.HNT : hT;
    for (let k = 0; k < H; k++) dWhh[j * H + k] = dot(dHPT, j * TB, src, k * TB, TB);
    let s = 0;
    for (let q = 0; q < TB; q++) s += dHPT[j * TB + q];
    dbhh[j] = s;
  }
  transpose(dWihT, D, GH, grads.weight_ih_l0);
  if (kind !== "gru") dbhh.set(dbih);
  r.dh0.set(run);
  if (kind === "lstm") r.dc0.set(dc);
  return r;
}

export function headForward(h, V, c, B, H, K, out = null) {
  const o = out || new Float64Array(B * K);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < H; j++) s += V[k * H + j] * h[b * H + j];
      o[b * K + k] = c[k] + s;
    }
  return o;
}

export function softmaxCrossEntropy(logits, targets, B, K) {
  const probs = new Float64Array(B * K), dLogits = new Float64Array(B * K);
  let loss = 0, correct = 0;
  for (let b = 0; b < B; b++) {
    const o0 = b * K, y = targets[b];
    if (!(y >= 0 && y < K)) throw new RangeError(`targets[${b}]: expected a class in [0, ${K}), got ${y}`);
    let m = -Infinity, arg = 0;
    for (let k = 0; k < K; k++) if (logits[o0 + k] > m) { m = logits[o0 + k]; arg = k; }
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[o0 + k] - m);
    for (let k = 0; k < K; k++) probs[o0 + k] = Math.exp(logits[o0 + k] - m) / s;
    loss += Math.log(s) - (logits[o0 + y] - m);                // -log softmax(o)[y]
    if (arg === y) correct++;
    for (let k = 0; k < K; k++) dLogits[o0 + k] = (probs[o0 + k] - (k === y ? 1 : 0)) / B;
  }
  return { loss: loss / B, probs, dLogits, correct };
}

export function headBackward(dLogits, h, V, B, H, K) {
  const dV = new Float64Array(K * H), dc = new Float64Array(K), dh = new Float64Array(B * H);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < K; k++) {
      const g = dLogits[b * K + k];
      dc[k] += g;
      for (let j = 0; j < H; j++) { dV[k * H + j] += g * h[b * H + j]; dh[b * H + j] += g * V[k * H + j]; }
    }
  return { dV, dc, dh };
}

