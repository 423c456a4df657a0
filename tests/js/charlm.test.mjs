// The page's sampler equals companion.charlm.sample: for each case of tests/js/charlm_vectors.json
// (written by companion.widgets.charlm.vectors: 3 seeds x 2 temperatures, 200 characters from the
// shipped LSTM) the same characters; and the cells C_t of a short text to 1e-9.
// The weights are read from data/charlm/lstm.npz itself (an uncompressed zip of .npy files).
// Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createModel, sample, cells, softmaxT, draw } from "../../src/companion/widgets/static/charlm.js";

const V = JSON.parse(readFileSync(new URL("./charlm_vectors.json", import.meta.url), "utf8"));
const ROOT = new URL("../../", import.meta.url);

// np.savez: a zip whose members are stored (not compressed) .npy files; read each by its header.
function readNpz(buf) {
  const out = {};
  let pos = 0;
  while (buf.readUInt32LE(pos) === 0x04034b50) {
    const method = buf.readUInt16LE(pos + 8), nameLen = buf.readUInt16LE(pos + 26), extraLen = buf.readUInt16LE(pos + 28);
    assert.equal(method, 0, "npz members must be stored, not compressed");
    const name = buf.toString("utf8", pos + 30, pos + 30 + nameLen).replace(/\.npy$/, "");
    const start = pos + 30 + nameLen + extraLen;
    const hlen = buf.readUInt16LE(start + 8);
    const header = buf.toString("latin1", start + 10, start + 10 + hlen);
    const descr = /'descr': '([^']+)'/.exec(header)[1];
    const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(",").filter((s) => s.trim()).map(Number);
    const n = shape.reduce((a, b) => a * b, 1), item = descr === "<f4" || descr === "<i4" ? 4 : 0;
    assert.ok(item, `${name}: unexpected dtype ${descr}`);
    const data = buf.subarray(start + 10 + hlen, start + 10 + hlen + n * item);
    const copy = new Uint8Array(data).buffer;
    out[name] = descr === "<f4" ? Float64Array.from(new Float32Array(copy)) : Int32Array.from(new Int32Array(copy));
    pos = start + 10 + hlen + n * item;
    if (buf.readUInt32LE(pos) === 0x08074b50) pos += 16;        // a data descriptor, if any
  }
  return out;
}

const raw = readFileSync(new URL(V.weights, ROOT));
const npz = readNpz(raw);
const vocab = String.fromCodePoint(...npz.vocab);
const H = npz.weight_ih_l0.length / vocab.length / 4;
const m = createModel({ vocab, H,
  W_ih: npz.weight_ih_l0, W_hh: npz.weight_hh_l0, b_ih: npz.bias_ih_l0, b_hh: npz.bias_hh_l0, V: npz.V, c: npz.c });

test("the vectors were written from these weights", () => {
  assert.equal(createHash("sha256").update(raw).digest("hex"), V.weights_sha256);
});

test("same seed, same text: 3 seeds x 2 temperatures", () => {
  assert.equal(V.cases.length, 6);
  for (const c of V.cases) {
    const text = sample(m, c.prime, c.n, c.temperature, c.seed);
    assert.equal(text, c.text, `seed ${c.seed}, temperature ${c.temperature}`);
  }
});

test("the cells C_t the unit view colours", () => {
  const C = cells(m, V.cells.text);
  V.cells.C.forEach((row, t) => V.cells.units.forEach((u, j) => {
    const err = Math.abs(C[t * m.H + u] - row[j]);
    assert.ok(err < 1e-9, `C[${t}][${u}]: JS ${C[t * m.H + u]} vs companion ${row[j]}`);
  }));
});

test("softmax with temperature and the draw", () => {
  const p = softmaxT(Float64Array.from([1, 2, 3]), 0.5);
  const e = [Math.exp(-4), Math.exp(-2), 1], s = e[0] + e[1] + e[2];
  p.forEach((v, k) => assert.ok(Math.abs(v - e[k] / s) < 1e-15));
  assert.equal(draw(Float64Array.from([0.2, 0.3, 0.5]), 0.0), 0);
  assert.equal(draw(Float64Array.from([0.2, 0.3, 0.5]), 0.2), 1);
  assert.equal(draw(Float64Array.from([0.2, 0.3, 0.5]), 0.9999999), 2);
  assert.equal(draw(Float64Array.from([0.5, 0.5, 0]), 1.0), 1);    // rounding past the total: last k with p > 0
  assert.throws(() => sample(m, "\u0007", 5, 1, 0), /prime/);
});

test("speed (printed, not asserted): 200 characters", () => {
  const times = [];
  for (let r = 0; r < 5; r++) { const t0 = performance.now(); sample(m, "The ", 200, 1, r); times.push(performance.now() - t0); }
  times.sort((a, b) => a - b);
  console.log(`# node: 200 characters in ${times[2].toFixed(1)} ms (median of 5)`);
});
