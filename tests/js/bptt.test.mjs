// The widgets' BPTT, Adam, random stream and training run equal companion: every case of
// tests/js/bptt_vectors.json (written by companion.widgets.bptt_vectors) to 1e-9, relative or
// absolute. Also prints (does not assert) the median time of one training step at
// (T, B, H) = (60, 32, 16): node's timing is not the browser's.
// Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SplitMix64 } from "../../src/companion/widgets/static/rng.js";
import { layerForward, layerBackward, headForward, softmaxCrossEntropy, headBackward } from "../../src/companion/widgets/static/bptt.js";
import { Adam, clipGradNorm } from "../../src/companion/widgets/static/optim.js";
import { createRun, recallBatch } from "../../src/companion/widgets/static/training.js";

const V = JSON.parse(readFileSync(new URL("./bptt_vectors.json", import.meta.url), "utf8"));
const TOL = V.tolerance;
const F = (a) => Float64Array.from(a);

function close(actual, expected, where) {
  if (expected === null) { assert.equal(actual, null, `${where}: expected null`); return; }
  if (Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, `${where}: length`);
    expected.forEach((e, k) => close(actual[k], e, `${where}[${k}]`));
    return;
  }
  assert.ok(Number.isFinite(actual), `${where}: not finite: ${actual}`);
  const err = Math.abs(actual - expected);
  assert.ok(err <= TOL || err <= TOL * Math.abs(expected),
    `${where}: JS ${actual} vs companion ${expected} (|diff| = ${err})`);
}

test("the vectors cover every kind, variant and part", () => {
  const seen = new Set(V.layers.map((c) => `${c.kind} ${c.nonlinearity ?? c.variant ?? ""}`));
  for (const n of ["rnn tanh", "rnn relu", "lstm ", "gru torch", "gru lecture"]) assert.ok(seen.has(n), `missing ${n}`);
  assert.equal(V.layers.length, 10);
  assert.equal(V.adam.length, 2);
  assert.ok(V.adam.some((c) => c.options.weightDecay > 0));
  assert.deepEqual(V.runs.map((r) => r.config.kind).sort(), ["gru", "gru", "lstm", "rnn"]);
  assert.ok(V.rng.some((r) => BigInt(r.seed) >= 2n ** 32n));
});

for (const c of V.layers) {
  test(`layer ${c.name}`, () => {
    const { T, B, D, H } = c, p = {};
    for (const [k, v] of Object.entries(c.params)) p[k] = F(v);
    const cache = layerForward(c.kind, p, F(c.x), T, B, D, H, { nonlinearity: c.nonlinearity ?? "tanh",
      variant: c.variant ?? "torch", h0: F(c.h0), c0: c.c0 ? F(c.c0) : null });
    close(cache.out, c.expected.out, "out");
    close(cache.hT, c.expected.hT, "hT");
    if (c.kind === "lstm") close(cache.cT, c.expected.cT, "cT");
    // twice: the reused buffers must be reset between backward passes
    for (let rep = 0; rep < 2; rep++) {
      const r = layerBackward(cache, F(c.dOut), F(c.dhT), c.dcT ? F(c.dcT) : null);
      for (const [k, v] of Object.entries(c.expected.grads)) close(r.grads[k], v, `grads.${k}`);
      close(r.dx, c.expected.dx, "dx");
      close(r.dh, c.expected.dh, "dh");
      close(r.dh0, c.expected.dh0, "dh0");
      if (c.kind === "lstm") close(r.dc0, c.expected.dc0, "dc0");
    }
  });
}

test("layerForward with reuse gives the same as a fresh call", () => {
  const c = V.layers.find((l) => l.kind === "lstm");
  const p = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, F(v)]));
  const a = layerForward("lstm", p, F(c.x), c.T, c.B, c.D, c.H, { h0: F(c.h0), c0: F(c.c0) });
  const b = layerForward("lstm", p, F(c.x), c.T, c.B, c.D, c.H, { reuse: a });
  assert.equal(a, b);
  const fresh = layerForward("lstm", p, F(c.x), c.T, c.B, c.D, c.H);
  assert.deepEqual([...b.out], [...fresh.out]);
  assert.throws(() => layerForward("lstm", p, F(c.x), c.T + 1, c.B, c.D, c.H), /x: expected a Float64Array/);
  assert.throws(() => layerForward("elman", p, F(c.x), c.T, c.B, c.D, c.H), /kind/);
});

for (const r of V.rng) {
  test(`SplitMix64 seed ${r.seed}`, () => {
    const big = BigInt(r.seed);
    const s = new SplitMix64(big < 2n ** 53n ? Number(big) : big);
    assert.deepEqual(r.u64.map(() => s.nextU64().toString()), r.u64);
    const exact = (got, want, what) => assert.deepEqual(got, want, what);
    exact(r.random.map(() => s.random()), r.random, "random");
    exact(r.uniform.values.map(() => s.uniform(r.uniform.lo, r.uniform.hi)), r.uniform.values, "uniform");
    exact(r.integers.values.map(() => s.integers(r.integers.lo, r.integers.hi)), r.integers.values, "integers");
    close(r.normal.map(() => s.normal()), r.normal, "normal");   // Math.log/cos may differ from libm in the last bit
  });
}

test("SplitMix64 refuses bad seeds", () => {
  assert.equal(new SplitMix64(0).nextU64(), 0xE220A8397B1DCDAFn);
  for (const bad of [-1, 1.5, 2 ** 53, NaN, "3", -1n, 2n ** 64n]) assert.throws(() => new SplitMix64(bad), /seed/);
  assert.throws(() => new SplitMix64(1).integers(3, 3), /lo, hi/);
});

for (const c of V.heads) {
  test(c.name, () => {
    const { B, H, K } = c, e = c.expected;
    const logits = headForward(F(c.h), F(c.V), F(c.c), B, H, K);
    close(logits, e.logits, "logits");
    const ce = softmaxCrossEntropy(logits, Int32Array.from(c.targets), B, K);
    close(ce.loss, e.loss, "loss");
    close(ce.probs, e.probs, "probs");
    close(ce.dLogits, e.dLogits, "dLogits");
    assert.equal(ce.correct, e.correct);
    const g = headBackward(ce.dLogits, F(c.h), F(c.V), B, H, K);
    close(g.dV, e.dV, "dV");
    close(g.dc, e.dc, "dc");
    close(g.dh, e.dh, "dh");
  });
}

for (const c of V.adam) {
  test(`20 steps of ${c.name}`, () => {
    const params = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, F(v)]));
    const opt = new Adam(params, c.options);
    c.grads.forEach((g, s) => {
      opt.step(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, F(v)])));
      for (const k of Object.keys(params)) close(params[k], c.expected[s][k], `step ${s + 1} ${k}`);
    });
  });
}

test("clipGradNorm equals companion.optim.clip_grad_norm", () => {
  for (const c of V.clip) {
    const g = Object.fromEntries(Object.entries(c.grads).map(([k, v]) => [k, F(v)]));
    close(clipGradNorm(g, c.maxNorm), c.expected.total, "total");
    for (const k of Object.keys(g)) close(g[k], c.expected.grads[k], `grads.${k}`);
  }
});

for (const c of V.runs) {
  test(`20 training steps: ${c.name}`, () => {
    const run = createRun(c.config);
    for (let s = 0; s < 20; s++) run.step();
    for (const [k, v] of Object.entries(c.history)) close(run.history[k], v, `history.${k}`);
    for (const [k, v] of Object.entries(c.params)) close(run.params[k], v, `params.${k}`);
  });
}

test("the same seed gives the same curve; recallBatch follows the task's definition", () => {
  const a = createRun({ kind: "gru", distance: 8, hidden: 5, seed: 3 }), b = createRun({ kind: "gru", distance: 8, hidden: 5, seed: 3 });
  for (let s = 0; s < 5; s++) assert.deepEqual(a.step(), b.step());
  const { tokens, y } = recallBatch(new SplitMix64(1), 50, 7, 4, 4);
  for (let b = 0; b < 50; b++) {
    assert.equal(tokens[b * 8], y[b]);
    assert.ok(y[b] >= 0 && y[b] < 4);
    for (let t = 1; t < 7; t++) assert.ok(tokens[b * 8 + t] >= 4 && tokens[b * 8 + t] < 8);
    assert.equal(tokens[b * 8 + 7], 8);
  }
});

// one step (forward, backward, Adam, clip; data drawn outside the timing) at (60, 32, 16), D = 9, K = 4
export function timeStep(kind, reps = 30) {
  const T = 60, B = 32, H = 16, D = 9, K = 4;
  const run = createRun({ kind, distance: T - 1, hidden: H, batch: B, nEval: 32, evalEvery: 1e9 });
  const times = [];
  for (let i = 0; i < reps + 5; i++) {
    const t0 = performance.now();
    run.step();
    if (i >= 5) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const s = new SplitMix64(1), t0 = performance.now();
  for (let i = 0; i < 20; i++) recallBatch(s, B, T - 1, K, D - K - 1);
  return { median: times[times.length >> 1], min: times[0], data: (performance.now() - t0) / 20 };
}

test("timing report: median training step at (T, B, H) = (60, 32, 16) (printed, not asserted)", () => {
  for (const kind of ["rnn", "lstm", "gru"]) {
    const r = timeStep(kind);
    console.log(`# ${kind}: step median ${r.median.toFixed(2)} ms (min ${r.min.toFixed(2)}), of which data ~${r.data.toFixed(2)} ms`);
  }
});

test("evaluate in slices gives the accuracy of the whole evaluation batch", () => {
  const run = createRun({ kind: "lstm", distance: 5, hidden: 4, nEval: 40, forgetBias: 2 });
  for (let s = 0; s < 30; s++) run.step();
  const whole = run.evaluate();
  const parts = run.evaluate(0, 16) * 16 + run.evaluate(16, 40) * 24;
  assert.ok(Math.abs(parts - whole * 40) < 1e-9);
  assert.equal(run.evaluate(), whole);
  assert.throws(() => run.evaluate(5, 5), /lo, hi/);
});
