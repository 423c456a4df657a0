// The widgets' validation helpers (no DOM needed): numbers only, bounded sizes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BOUNDS, checkChoice, checkMat, checkNum, checkVec, fmt, parseTyped } from "../../src/companion/widgets/static/ui.js";

test("typed values: numbers only", () => {
  for (const [s, v] of [["1", 1], [" -2.5 ", -2.5], ["+.5", 0.5], ["1e-3", 0.001], ["3.", 3]]) assert.equal(parseTyped(s), v, s);
  for (const s of ["", "abc", "1,5", "0x10", "Infinity", "NaN", "1 2", "<b>1</b>", "1e", "--1"]) assert.ok(Number.isNaN(parseTyped(s)), s);
});

test("state checks refuse non-numbers, non-finite and out-of-range values", () => {
  assert.equal(checkNum("x", 2, 5), 2);
  for (const v of ["2", NaN, Infinity, 6, -6, null, undefined, true, [1], {}]) assert.throws(() => checkNum("x", v, 5), /x: expected a number/);
  assert.deepEqual(checkVec("v", [1, 2], 2, 5), [1, 2]);
  assert.throws(() => checkVec("v", [1, 2], 3, 5), /v: expected a list of 3/);
  assert.throws(() => checkVec("v", new Array(BOUNDS.maxH + 1).fill(0), null, 5), /at most/);
  assert.throws(() => checkVec("v", "12", null, 5));
  assert.deepEqual(checkMat("m", [[1], [2]], 2, 1, 5), [[1], [2]]);
  assert.throws(() => checkMat("m", [[1], [2, 3]], 2, 1, 5), /m\[1\]/);
  assert.throws(() => checkMat("m", new Array(BOUNDS.maxT + 1).fill([0]), null, 1, 5, BOUNDS.maxT), /at most/);
  assert.equal(checkChoice("k", "lstm", ["rnn", "lstm"]), "lstm");
  assert.throws(() => checkChoice("k", "<img>", ["rnn", "lstm"]), /k: expected one of/);
});

test("numbers are shown with 4 decimals and no negative zero", () => {
  assert.equal(fmt(0.123456), "0.1235");
  assert.equal(fmt(-0.00001), "0.0000");
  assert.equal(fmt(-1.5), "-1.5000");
});
