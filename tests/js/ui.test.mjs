// The widgets' validation helpers (no DOM needed): numbers only, bounded sizes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BOUNDS, checkChoice, checkMat, checkNum, checkVec, fmt, link, parseTyped } from "../../src/companion/widgets/static/ui.js";

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

// a model as anywidget's: set() fires change:<key> at once (as the static page's host does)
function fakeModel() {
  const state = {}, handlers = {};
  let saves = 0;
  return {
    get: (k) => state[k],
    set(k, v) { state[k] = v; (handlers[`change:${k}`] || []).slice().forEach((f) => f()); },
    on(ev, f) { (handlers[ev] = handlers[ev] || []).push(f); },
    off(ev, f) { handlers[ev] = (handlers[ev] || []).filter((g) => g !== f); },
    save_changes() { saves += 1; },
    saves: () => saves,
    listeners: () => Object.values(handlers).reduce((n, fs) => n + fs.length, 0),
  };
}

test("link: own commits save once and do not reload the view; changes from elsewhere do; cleanup detaches", () => {
  const model = fakeModel();
  const { commit, listen } = link(model);
  let reloads = 0;
  const off = listen(["a", "b"], () => { reloads += 1; });
  assert.equal(model.listeners(), 2);
  commit([["a", 1], ["b", 2]]);
  assert.deepEqual([model.get("a"), model.get("b"), model.saves(), reloads], [1, 2, 1, 0]);
  model.set("a", 3);                       // from Python or another view
  assert.equal(reloads, 1);
  model.set("c", 4);                       // a key the widget does not listen to
  assert.equal(reloads, 1);
  assert.throws(() => commit([["a", 5], null]));   // a failed commit leaves the link usable
  model.set("b", 6);
  assert.equal(reloads, 2);
  off();
  assert.equal(model.listeners(), 0);
  model.set("a", 7);
  assert.equal(reloads, 2);
});
