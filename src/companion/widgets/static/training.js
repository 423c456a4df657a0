// Chapter 09's recall task run = companion.page_training.TrainingRun (same seed, same curve;
// to 1e-9 over 20 steps by tests/js/bptt.test.mjs).
// function createRun({ kind = "lstm", distance = 20, hidden = 8, batch = 32, lr = 0.01,
//     seed = 0, clip = 1.0 /* 0 or null: none */, forgetBias = 0, updateBias = 0, variant = "lecture",
//     nonlinearity = "tanh", nSymbols = 4, nNoise = 4, nEval = 256, evalEvery = 10 } = {})
//   -> run { config, params /* {weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, V, c} */,
//            step() -> { step, loss, accuracy, trainAccuracy, gradFirst, gradNorm },
//            evaluate(lo = 0, hi = nEval) -> accuracy on sequences lo..hi-1 of the evaluation batch
//            (slices let a page split the evaluation into short tasks), history { step: [], loss: [], ... } }
//   loss, trainAccuracy: the batch's, before the update. accuracy: on the fixed evaluation batch
//   (nEval sequences) after the update, when step % evalEvery === 0, else null.
//   gradFirst = sum_b ||dL/dx_b(0)|| = mean over the batch of ||d loss_b / dx_b(0)||: the
//   gradient reaching the remembered token. gradNorm: the global norm before clipping.
// Streams: weights SplitMix64(seed), training batches SplitMix64(seed + 2**62), evaluation
// batch SplitMix64(seed + 2**63) (mod 2**64). Weights U(-1/sqrt(H), 1/sqrt(H)) in the order
// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, V (K, H), c (K); then the LSTM's forget
// block (rows H..2H) of bias_ih_l0 = forgetBias and of bias_hh_l0 = 0 (GRU: update block, updateBias).
// function recallBatch(stream, batch, distance, nSymbols = 4, nNoise = 4)
//   -> { tokens /* Int32Array batch*T, row b = one sequence */, y /* Int32Array batch */ }
//   (the batch labels first, then the distractors row by row, as companion.tasks.recall_batch)
// function oneHot(tokens, B, T, D, out = null) -> x, time-major T*B*D

import { SplitMix64 } from "./rng.js";
import { layerForward, layerBackward, headForward, softmaxCrossEntropy, headBackward } from "./bptt.js";
import { Adam, clipGradNorm, globalNorm } from "./optim.js";

export function recallBatch(stream, batch, distance, nSymbols = 4, nNoise = 4) {
  const T = distance + 1, tokens = new Int32Array(batch * T), y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) y[b] = stream.integers(0, nSymbols);
  for (let b = 0; b < batch; b++) {
    tokens[b * T] = y[b];
    for (let t = 1; t < T - 1; t++) tokens[b * T + t] = stream.integers(nSymbols, nSymbols + nNoise);
    tokens[b * T + T - 1] = nSymbols + nNoise;
  }
  return { tokens, y };
}

export function oneHot(tokens, B, T, D, out = null) {
  const x = out || new Float64Array(T * B * D);
  x.fill(0);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) x[(t * B + b) * D + tokens[b * T + t]] = 1;
  return x;
}

function check(name, v, ok, what) {
  if (!ok(v)) throw new RangeError(`${name}: expected ${what}, got ${v}`);
  return v;
}
const posInt = (v) => Number.isInteger(v) && v >= 1;

export function createRun(options = {}) {
  const config = { kind: "lstm", distance: 20, hidden: 8, batch: 32, lr: 0.01, seed: 0, clip: 1.0,
    forgetBias: 0, updateBias: 0, variant: "lecture", nonlinearity: "tanh", nSymbols: 4, nNoise: 4,
    nEval: 256, evalEvery: 10, ...options };
  const { kind, distance, hidden: H, batch: B, seed, nSymbols: K, nNoise, nEval, evalEvery } = config;
  check("kind", kind, (v) => ["rnn", "lstm", "gru"].includes(v), '"rnn", "lstm" or "gru"');
  for (const k of ["distance", "hidden", "batch", "nSymbols", "nNoise", "nEval", "evalEvery"]) check(k, config[k], posInt, "a positive integer");
  check("seed", seed, (v) => Number.isSafeInteger(v) && v >= 0, "an integer in [0, 2**53)");
  check("lr", config.lr, (v) => v > 0 && Number.isFinite(v), "a positive number");
  check("clip", config.clip, (v) => v === null || v === 0 || (v > 0 && Number.isFinite(v)), "null, 0 or a positive number");
  const D = K + nNoise + 1, T = distance + 1, G = { rnn: 1, lstm: 4, gru: 3 }[kind];
  const opts = { nonlinearity: config.nonlinearity, variant: config.variant };

  const wrng = new SplitMix64(seed), k = 1 / Math.sqrt(H);
  const draw = (n) => { const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = wrng.uniform(-k, k); return a; };
  const params = { weight_ih_l0: draw(G * H * D), weight_hh_l0: draw(G * H * H), bias_ih_l0: draw(G * H),
    bias_hh_l0: draw(G * H), V: draw(K * H), c: draw(K) };
  const knob = kind === "lstm" ? config.forgetBias : kind === "gru" ? config.updateBias : null;
  if (knob !== null) {
    check(kind === "lstm" ? "forgetBias" : "updateBias", knob, Number.isFinite, "a finite number");
    params.bias_ih_l0.fill(knob, H, 2 * H);
    params.bias_hh_l0.fill(0, H, 2 * H);
  }
  const layer = { weight_ih_l0: params.weight_ih_l0, weight_hh_l0: params.weight_hh_l0,
    bias_ih_l0: params.bias_ih_l0, bias_hh_l0: params.bias_hh_l0 };
  const opt = new Adam(params, { lr: config.lr });
  const big = BigInt(seed), M = (1n << 64n) - 1n;
  const dataRng = new SplitMix64((big + (1n << 62n)) & M);
  const ev = recallBatch(new SplitMix64((big + (2n << 62n)) & M), nEval, distance, K, nNoise);
  const x = new Float64Array(T * B * D), dOut = new Float64Array(T * B * H);
  let cache = null, evalCache = null;

  const run = { config, params, steps: 0,
    history: { step: [], loss: [], accuracy: [], trainAccuracy: [], gradFirst: [], gradNorm: [] } };

  run.evaluate = (lo = 0, hi = nEval) => {
    const n = hi - lo;
    check("lo, hi", [lo, hi], () => Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && lo < hi && hi <= nEval, `0 <= lo < hi <= ${nEval}`);
    const xs = oneHot(ev.tokens.subarray(lo * T, hi * T), n, T, D, evalCache && evalCache.B === n ? evalCache.x : null);
    evalCache = layerForward(kind, layer, xs, T, n, D, H, { ...opts, reuse: evalCache });
    const logits = headForward(evalCache.hT, params.V, params.c, n, H, K);
    let correct = 0;
    for (let b = 0; b < n; b++) {
      let arg = 0;
      for (let j = 1; j < K; j++) if (logits[b * K + j] > logits[b * K + arg]) arg = j;
      if (arg === ev.y[lo + b]) correct++;
    }
    return correct / n;
  };

  run.step = () => {
    const { tokens, y } = recallBatch(dataRng, B, distance, K, nNoise);
    oneHot(tokens, B, T, D, x);
    cache = layerForward(kind, layer, x, T, B, D, H, { ...opts, reuse: cache });
    const hT = cache.hT;
    const logits = headForward(hT, params.V, params.c, B, H, K);
    const ce = softmaxCrossEntropy(logits, y, B, K);
    const hb = headBackward(ce.dLogits, hT, params.V, B, H, K);
    dOut.set(hb.dh, (T - 1) * B * H);                  // many to one: the loss reads h(T) only
    const back = layerBackward(cache, dOut, null, null, 1);     // dx at t = 0 only: gradFirst
    const grads = { ...back.grads, V: hb.dV, c: hb.dc };     // the order of Python's norm sum
    const gradNorm = config.clip ? clipGradNorm(grads, config.clip) : globalNorm(grads);
    opt.step(grads);
    let gradFirst = 0;
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += back.dx[b * D + d] ** 2;
      gradFirst += Math.sqrt(s);
    }
    run.steps += 1;
    const rec = { step: run.steps, loss: ce.loss, accuracy: run.steps % evalEvery === 0 ? run.evaluate() : null,
      trainAccuracy: ce.correct / B, gradFirst, gradNorm };
    for (const key of Object.keys(rec)) run.history[key].push(rec[key]);
    return rec;
  };
  return run;
}
