// The widgets' JavaScript cell math equals companion.cells: every case of
// tests/js/vectors.json (written by companion.widgets.vectors) to 1e-9.
// Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gruStep, lstmStep, rnnStep, runSequence, sigmoid, softmax } from "../../src/companion/widgets/static/cells.js";

const vectors = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url), "utf8"));
const TOL = vectors.tolerance;

function close(actual, expected, where) {
  if (expected === null) { assert.equal(actual, null, `${where}: expected null`); return; }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: expected an array, got ${actual}`);
    assert.equal(actual.length, expected.length, `${where}: length`);
    expected.forEach((e, k) => close(actual[k], e, `${where}[${k}]`));
    return;
  }
  assert.ok(Number.isFinite(actual), `${where}: not finite: ${actual}`);
  const err = Math.abs(actual - expected);
  assert.ok(err <= TOL || err <= TOL * Math.abs(expected),
    `${where}: JS ${actual} vs companion ${expected} (|diff| = ${err})`);
}

function run(c) {
  if (c.cell === "rnn") return rnnStep(c.x_t, c.h_prev, c.U, c.W, c.b, c.V, c.c, c.nonlinearity);
  if (c.cell === "lstm") return lstmStep(c.x_t, c.h_prev, c.C_prev, c.w, c.peephole);
  if (c.cell === "gru") return gruStep(c.x_t, c.h_prev, c.w, c.variant);
  return runSequence(c.kind, c.xs, c.w, { h0: c.h0, C0: c.C0, peephole: c.peephole ?? null, variant: c.variant });
}

test("the vectors cover every cell and variant", () => {
  const seen = new Set(vectors.cases.map((c) => `${c.cell} ${c.cell === "lstm" ? c.peephole : c.nonlinearity ?? c.variant}`));
  for (const n of ["rnn tanh", "rnn relu", "lstm null", "lstm diagonal", "lstm full", "gru lecture", "gru torch"])
    assert.ok(seen.has(n), `missing ${n}`);
  const seqs = new Set(vectors.cases.filter((c) => c.cell === "sequence").map((c) => c.kind));
  assert.deepEqual([...seqs].sort(), ["gru", "lstm", "rnn"]);
  assert.ok(vectors.cases.length >= 40, `only ${vectors.cases.length} cases`);
});

for (const c of vectors.cases) {
  test(c.name, () => {
    const got = run(c);
    for (const [k, e] of Object.entries(c.expected)) close(got[k], e, `${c.name}: ${k}`);
  });
}

test("sigmoid and softmax are stable at extreme inputs", () => {
  assert.equal(sigmoid(-1e4), 0);
  assert.equal(sigmoid(1e4), 1);
  assert.equal(sigmoid(0), 0.5);
  assert.deepEqual(softmax([1e4, 0, -1e4]), [1, 0, 0]);
  assert.deepEqual(softmax([800, 800]), [0.5, 0.5]);
});
