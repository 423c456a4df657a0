// The gradient-flow widget's numbers equal companion.gradient_flow: every case of
// tests/js/gradflow_vectors.json (written by companion.gradient_flow.write) to 1e-9.
// Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GF_DEFAULTS, gfCheck, gfDecay, gfNorm, gfOrthogonal, gradientFlow } from "../../src/companion/widgets/static/gradflow.js";

const vectors = JSON.parse(readFileSync(new URL("./gradflow_vectors.json", import.meta.url), "utf8"));
const TOL = vectors.tolerance;

test("the vectors cover every cell, both RNN nonlinearities and every knob", () => {
  const cs = vectors.cases;
  assert.deepEqual([...new Set(cs.map((c) => c.kind))].sort(), ["gru", "lstm", "rnn"]);
  const rnn = cs.filter((c) => c.kind === "rnn");
  assert.deepEqual([...new Set(rnn.map((c) => c.settings.nonlinearity))].sort(), ["linear", "tanh"]);
  assert.ok(new Set(cs.filter((c) => c.kind === "lstm").map((c) => c.settings.forget_bias)).size >= 3);
  assert.ok(new Set(cs.filter((c) => c.kind === "gru").map((c) => c.settings.update_bias)).size >= 3);
  assert.ok(cs.some((c) => c.settings.T === 100 && c.settings.H === 16));
  assert.equal(TOL, 1e-9);
  assert.equal(cs.filter((c) => c.chaotic).length, 1);   // the only case checked to less than 1e-9
});

// Norms relative to themselves, each g_t[i] relative to ||g_t|| (a small component of a large
// vector is compared at the vector's scale), the decay factor absolutely. A "chaotic" case
// (tanh RNN, rho > 1.6, small inputs: see companion.gradient_flow.CHAOTIC_TOLERANCE) to that tolerance.
for (const c of vectors.cases) {
  test(c.name + (c.chaotic ? " (chaotic: to " + vectors.chaotic_tolerance + ")" : ""), () => {
    const tol = c.chaotic ? vectors.chaotic_tolerance : TOL;
    const f = gradientFlow(c.kind, c.settings);
    const { T, H } = c.settings;
    assert.equal(f.norms.length, T);
    assert.equal(f.grads.length, T * H);
    c.norms.forEach((e, t) => {
      const err = Math.abs(f.norms[t] - e);
      assert.ok(err <= tol * e || err === 0, `norm at t=${t + 1}: JS ${f.norms[t]} vs companion ${e}`);
    });
    c.steps.forEach((t, k) => c.grads[k].forEach((g, i) => {
      const e = c.norms[t - 1], d = Math.abs(f.grads[(t - 1) * H + i] - g);
      assert.ok(d <= tol * e || d === 0, `g_${t}[${i}]: JS ${f.grads[(t - 1) * H + i]} vs companion ${g} (||g_t|| ${e})`);
    }));
    assert.ok(Math.abs(f.decay - c.decay) <= tol, `decay: JS ${f.decay} vs companion ${c.decay}`);
    assert.ok(Number.isFinite(f.decay) && f.decay >= 0);
  });
}

test("the linear RNN with W = rho Q decays by exactly rho per step", () => {
  for (const rho of [0, 0.3, 1, 1.7, 2]) {
    const f = gradientFlow("rnn", { ...GF_DEFAULTS, rho, nonlinearity: "linear", T: 100 });
    assert.ok(Math.abs(f.decay - rho) <= 1e-9, `rho ${rho}: ${f.decay}`);
  }
});

test("Q is orthogonal; the norm does not underflow; phi of a zero gradient is 0", () => {
  const n = 5, A = Float64Array.from({ length: n * n }, (_, k) => Math.sin(k + 1) + (k % (n + 1) === 0 ? 2 : 0));
  const Q = gfOrthogonal(A, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += Q[k * n + i] * Q[k * n + j];
    assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
  }
  assert.ok(Math.abs(gfNorm(Float64Array.from([3e-200, 4e-200])) / 5e-200 - 1) < 1e-15);
  assert.equal(gfNorm(new Float64Array(3)), 0);
  assert.equal(gfDecay(Float64Array.from([0, 0.5, 1])), 0);
});

test("bad settings are refused, naming the setting", () => {
  for (const [k, v] of [["T", 1], ["T", 101], ["T", 2.5], ["H", 17], ["rho", -0.1], ["rho", NaN], ["forget_bias", 7],
    ["update_bias", "1"], ["input_scale", 5.5], ["seed", -1], ["nonlinearity", "relu"]])
    assert.throws(() => gradientFlow("rnn", { ...GF_DEFAULTS, [k]: v }), new RegExp(`^Error: ${k}:`), `${k} = ${v}`);
  assert.throws(() => gradientFlow("cnn", GF_DEFAULTS), /kind/);
  assert.equal(gfCheck("T", 100), 100);
});
