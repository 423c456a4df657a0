// Train it here (chapter 09): the recall task trained in the browser by training.js (equal to
// companion.page_training): live loss, accuracy and the gradient reaching x_0. Steps run in chunks
// (a Web Worker on the static page, else the page in CHUNK_MS slices) so input and paint go on.
import { createRun } from "./training.js";
import { checkChoice, fmt, frame, h, link, read, select, slider } from "./ui.js";

// Limits shared with companion/widgets/training_run.py (LIMITS there): [lo, hi] of each setting.
export const LIMITS = { distance: [5, 60], hidden: [1, 16], batch: [1, 64], lr: [0.001, 0.1],
  seed: [0, 9999], forget_bias: [-5, 5], update_bias: [-5, 5], steps: [1, 5000] };
const INTS = ["distance", "hidden", "batch", "seed", "steps"];
const DEFAULTS = { distance: 20, kind: "lstm", hidden: 8, lr: 0.01, seed: 0, forget_bias: 0, update_bias: 0,
  batch: 32, steps: 300 };
const KEYS = Object.keys(DEFAULTS);
// a chunk of steps takes no step that would end past CHUNK_MS on the page (repaint: a few ms more),
// 2 * CHUNK_MS in a Worker; Pause waits for the chunk that is under way
const CHUNK_MS = 25;
const MAX_POINTS = 500;    // a curve is drawn through at most this many points
const LN4 = Math.log(4);

function checkSetting(name) {
  if (name === "kind") return (v) => checkChoice("kind", v, ["rnn", "lstm", "gru"]);
  const [lo, hi] = LIMITS[name], int = INTS.includes(name);
  return (v) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v)))
      throw new Error(`${name}: expected ${int ? "an integer" : "a number"} in [${lo}, ${hi}]`);
    return v;
  };
}

// companion.page_training's config (training.js's names) for the widget's settings
function trainConfig(c) {
  return { kind: c.kind, distance: c.distance, hidden: c.hidden, batch: c.batch, lr: c.lr, seed: c.seed,
    forgetBias: c.forget_bias, updateBias: c.update_bias };
}

// ---------------------------------------------------------------- charts
const CW = 360, CH = 200, CL = 48, CR = 70, CT = 10, CB = 36;   // chart size and margins

function niceStep(span, n) {
  const raw = span / n, p = 10 ** Math.floor(Math.log10(raw)), m = raw / p;
  return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}

// One chart: axes with labels, optional reference lines, one polyline per series.
function trainChart({ title, ylabel, series, log = false }) {
  const svg = h("svg", { viewBox: `0 0 ${CW} ${CH}`, width: CW, role: "img", "aria-label": title });
  const axes = h("g", { "font-size": 10, fill: "currentColor" });
  const lines = Object.fromEntries(series.map((s) => [s.key, h("polyline", { fill: "none", stroke: s.color,
    "stroke-width": 2, "stroke-dasharray": s.dash || null, "data-series": s.key })]));
  const ends = Object.fromEntries(series.map((s) => [s.key, h("text", { "font-size": 10, fill: "currentColor" })]));
  svg.append(h("title", { text: title }), axes, ...Object.values(lines), ...Object.values(ends));
  const X = (x, x1) => CL + ((CW - CL - CR) * x) / x1;
  // draw(hist, n): redraw for the first n entries of hist
  const draw = (hist, n) => {
    const x1 = Math.max(10, n);
    let ylo = 0, yhi = 1.5;
    if (log) {
      let lo = Infinity, hi = -Infinity;
      for (const s of series) for (let k = 0; k < n; k++) {
        const v = hist[s.key][k];
        if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
      if (lo === Infinity) { lo = 1e-3; hi = 1; }
      ylo = Math.floor(Math.log10(lo)); yhi = Math.max(ylo + 2, Math.ceil(Math.log10(hi)));
    } else {
      for (const s of series) for (let k = 0; k < n; k++) yhi = Math.max(yhi, Math.min(4, hist[s.key][k] || 0));
      yhi = Math.ceil(yhi * 2) / 2;
    }
    const Y = (v) => CT + (CH - CT - CB) * (1 - ((log ? Math.log10(v) : v) - ylo) / (yhi - ylo));
    const parts = [h("line", { x1: CL, y1: CH - CB, x2: CW - CR, y2: CH - CB, stroke: "currentColor" }),
      h("line", { x1: CL, y1: CT, x2: CL, y2: CH - CB, stroke: "currentColor" }),
      h("text", { x: (CL + CW - CR) / 2, y: CH - 4, "text-anchor": "middle", text: "training step" }),
      h("text", { x: 10, y: (CT + CH - CB) / 2, "text-anchor": "middle",
        transform: `rotate(-90 10 ${(CT + CH - CB) / 2})`, text: ylabel })];
    const dx = niceStep(x1, 4);
    for (let x = 0; x <= x1 + 1e-9; x += dx)
      parts.push(h("text", { x: X(x, x1), y: CH - CB + 13, "text-anchor": "middle", text: String(x) }));
    const dy = log ? Math.max(1, Math.ceil((yhi - ylo) / 6)) : 0.5;
    for (let y = ylo; y <= yhi + 1e-9; y += dy) {
      const yy = log ? 10 ** y : y;
      parts.push(h("line", { x1: CL - 3, y1: Y(yy), x2: CL, y2: Y(yy), stroke: "currentColor" }),
        h("text", { x: CL - 5, y: Y(yy) + 3, "text-anchor": "end", text: log ? `1e${y}` : y.toFixed(1) }));
    }
    if (!log) for (const [v, text] of [[0.25, "chance 1/4"], [LN4, "ln 4"]])
      parts.push(h("line", { x1: CL, y1: Y(v), x2: CW - CR, y2: Y(v), stroke: "currentColor", "stroke-dasharray": "1 3",
        opacity: 0.7, "data-ref": text }), h("text", { x: CW - CR - 4, y: Y(v) - 3, "text-anchor": "end", text, opacity: 0.8 }));
    axes.replaceChildren(...parts);
    const stride = Math.ceil(n / MAX_POINTS);
    let prev = -Infinity;          // the y of the last end label, kept 12 px from the next
    for (const s of series) {
      const ys = hist[s.key], pts = [];
      let last = -1;
      for (let k = 0; k < n; k++) {
        const v = ys[k];
        if (!Number.isFinite(v) || (log && v <= 0)) continue;
        last = k;
        if (k % stride && k !== n - 1) continue;
        const y = log ? v : Math.min(v, yhi);
        pts.push(`${X(k + 1, x1).toFixed(1)},${Y(y).toFixed(1)}`);
      }
      lines[s.key].setAttribute("points", pts.join(" "));
      const end = ends[s.key];
      if (last < 0) { end.textContent = ""; continue; }
      const v = log ? ys[last] : Math.min(ys[last], yhi);
      let y = Y(v) + 3;
      if (Math.abs(y - prev) < 12) y = prev + (y < prev ? -12 : 12);
      prev = y;
      end.setAttribute("x", X(last + 1, x1) + 4);
      end.setAttribute("y", y);
      end.textContent = s.label;
    }
  };
  return { svg, draw };
}

function trainLegend(series) {
  return h("div", { class: "cw-legend" }, ...series.map((s) => h("span", {},
    h("svg", { width: 28, height: 10, "aria-hidden": "true", style: "display:inline-block" }, h("line", { x1: 0, y1: 5, x2: 28, y2: 5,
      stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dash || null })), " " + s.text)));
}

// ---------------------------------------------------------------- where the steps run
// Steps of `run`, as many as fit in `ms` (at least one), at most n, stopping at a loss that is not
// finite; est.ms (the longest recent step) keeps the last step from ending past `ms`.
function takeSteps(run, n, ms, est) {
  const recs = [], t0 = performance.now();
  for (;;) {
    const t = performance.now(), r = run.step();
    est.ms = Math.max(performance.now() - t, 0.8 * est.ms);
    recs.push({ step: r.step, loss: r.loss, accuracy: r.accuracy, gradFirst: r.gradFirst });
    if (recs.length >= n || !Number.isFinite(r.loss) || performance.now() - t0 + est.ms >= ms) return recs;
  }
}

// In the Worker (the page's own source as a Blob URL): { gen, cfg } builds a run;
// { gen, n, ms } is answered with { gen, recs } (or { gen, error }).
if (typeof document === "undefined" && typeof importScripts === "function") {
  let wrun = null;
  const est = { ms: 0 };
  self.onmessage = ({ data }) => {
    try {
      if (data.cfg) { wrun = createRun(data.cfg); est.ms = 0; return; }
      self.postMessage({ gen: data.gen, recs: takeSteps(wrun, data.n, data.ms, est) });
    } catch (e) { self.postMessage({ gen: data.gen, error: String((e && e.message) || e) }); }
  };
}

// The static page runs this bundle inline as HEAD + source + TAIL: that text, in a Blob, starts a
// Worker (also from file://). In Jupyter there is no such script: steps run on the page.
const HEAD = '(function () {\n"use strict";\n', TAIL = "\nreturn { render: render };\n})()";
let workerURL;
function startWorker() {
  if (workerURL === undefined) {
    workerURL = null;
    const s = typeof Worker === "function" && document.currentScript ? document.currentScript.text : "";
    const a = s.indexOf(HEAD), b = s.lastIndexOf(TAIL);
    if (a >= 0 && b > a) workerURL = URL.createObjectURL(new Blob([s.slice(a, b + TAIL.length) + ";\n"],
      { type: "text/javascript" }));
  }
  try { return workerURL ? new Worker(workerURL) : null; } catch (e) { return null; }
}

// ---------------------------------------------------------------- the widget
export function render({ model, el }) {
  const { root, say } = frame(el, "Train it here: recall a symbol d steps later");
  const { commit, listen } = link(model);
  const load = () => Object.fromEntries(KEYS.map((k) => [k, read(model, k, checkSetting(k), DEFAULTS[k], say)]));
  let cfg = load();
  // running: Train wants steps; busy: a request is out; gen: the run's number (answers for a
  // replaced run are dropped); why: what the next stop reports
  let hist = null, lastAcc = null, target = 0, running = false, busy = false, gen = 0, why = "";
  let worker = startWorker(), timer = null;
  const local = { run: null, est: { ms: 0 } };

  const status = h("div", { class: "cw-note", role: "status", "aria-live": "polite", "data-out": "status" });
  const out = {};
  const readout = h("div", { class: "cw-note cw-val" }, ...[["step", "step"], ["loss", "loss"],
    ["accuracy", "accuracy (256 held-out sequences, every 10 steps)"], ["gradFirst", "‖∂L/∂x‖ at the symbol"]].map(([k, text], j) =>
    h("span", {}, j ? " · " : "", text + " ", (out[k] = h("span", { "data-out": k, text: "–" })))));
  const S1 = [{ key: "loss", label: "loss", text: "loss (solid)", color: "var(--cw-a)" },
    { key: "accuracy", label: "accuracy", text: "accuracy (dashed)", color: "var(--cw-b)", dash: "6 3" }];
  const S2 = [{ key: "gradFirst", label: "‖∂L/∂x‖", text: "‖∂L/∂x‖ at the symbol: the gradient that reaches it (log axis)",
    color: "var(--cw-c)", dash: "8 3 2 3" }];
  const c1 = trainChart({ title: "loss and accuracy against the training step", ylabel: "loss (nats) / accuracy", series: S1 });
  const c2 = trainChart({ title: "gradient reaching the remembered token, log axis", ylabel: "‖∂L/∂x‖ at the symbol", series: S2, log: true });

  const expose = (stopped) => {
    const n = hist.step.length;
    root.setAttribute("data-step", String(n ? hist.step[n - 1] : 0));
    for (const k of ["loss", "accuracy", "gradFirst"]) {
      const v = !n ? NaN : k === "accuracy" ? lastAcc ?? NaN : hist[k][n - 1];
      root.setAttribute(`data-${k === "gradFirst" ? "grad-first" : k}`, String(v));
      out[k].setAttribute("data-value", String(v));
      out[k].textContent = !Number.isFinite(v) ? "–" : k === "gradFirst" ? v.toExponential(2) : fmt(v);
    }
    out.step.textContent = String(n ? hist.step[n - 1] : 0);
    root.setAttribute("data-running", running || busy ? "true" : "false");
    trainBtn.setAttribute("aria-pressed", running ? "true" : "false");
    if (stopped) root.setAttribute("data-history", JSON.stringify(hist));
  };
  const paint = (stopped = false) => {
    c1.draw(hist, hist.step.length);
    c2.draw(hist, hist.step.length);
    expose(stopped);
  };
  // ask for up to n steps; the answer comes to receive
  const request = (n) => {
    busy = true;
    const g = gen;
    if (worker) worker.postMessage({ gen: g, n, ms: 2 * CHUNK_MS });
    else timer = setTimeout(() => { timer = null; receive({ gen: g, recs: takeSteps(local.run, n, CHUNK_MS, local.est) }); }, 0);
  };
  const finish = (text) => { running = false; paint(true); status.textContent = text; };
  const receive = (msg) => {
    if (msg.gen !== gen) return;
    busy = false;
    if (msg.error) return finish(`Training stopped: ${msg.error}`);
    for (const r of msg.recs) {
      for (const k of Object.keys(hist)) hist[k].push(r[k]);
      if (r.accuracy !== null) lastAcc = r.accuracy;         // measured every 10 steps (training.js)
    }
    const n = hist.step.length;
    if (!Number.isFinite(hist.loss[n - 1])) return finish(`The loss is no longer finite at step ${n}: lower the learning rate and Reset.`);
    if (running && n < target) { request(target - n); return paint(); }
    finish(running ? `Trained ${n} steps. Train runs ${cfg.steps} more.` : why === "step" ? `One step: step ${n}.` : `Paused at step ${n}.`);
  };
  const rebuild = () => {
    gen += 1;
    running = busy = false;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (worker) worker.postMessage({ gen, cfg: trainConfig(cfg) });
    else { local.run = createRun(trainConfig(cfg)); local.est.ms = 0; }
    hist = { step: [], loss: [], accuracy: [], gradFirst: [] };
    lastAcc = null;
    root._history = hist;
    root.setAttribute("data-mode", worker ? "worker" : "page");
    paint(true);
  };
  if (worker) {
    worker.onmessage = (e) => receive(e.data);
    worker.onerror = (e) => {      // the Worker could not run: train on the page instead
      e.preventDefault();
      worker.terminate();
      worker = null;
      rebuild();
      status.textContent = "Training runs on the page (no background worker here).";
    };
  }

  const trainBtn = h("button", { type: "button", "data-action": "train", "aria-pressed": "false", text: "Train",
    onclick: () => {
      if (running) return;
      running = true;
      target = hist.step.length + cfg.steps;
      status.textContent = `Training up to step ${target}…`;
      if (!busy) request(cfg.steps);
      expose(false);
    } });
  const pauseBtn = h("button", { type: "button", "data-action": "pause", text: "Pause",
    onclick: () => { running = false; why = "pause"; if (!busy) finish(`Paused at step ${hist.step.length}.`); else expose(false); } });
  const stepBtn = h("button", { type: "button", "data-action": "step", text: "Step",
    onclick: () => { why = running ? "pause" : "step"; running = false; if (!busy) request(1); expose(false); } });
  const resetBtn = h("button", { type: "button", "data-action": "reset", text: "Reset",
    onclick: () => { rebuild(); status.textContent = `Reset: new weights and data from seed ${cfg.seed}.`; } });

  // a changed setting rebuilds the run from the seed (and stops a running one)
  const setting = (k, v) => {
    cfg[k] = v;
    commit([[k, v]]);
    enableBias();
    rebuild();
    status.textContent = `${k} = ${v}: the run starts again from seed ${cfg.seed}.`;
  };
  const S = {};
  const mk = (k, label, step, digits) => {
    S[k] = slider({ label, name: k, min: LIMITS[k][0], max: LIMITS[k][1], step, digits, value: cfg[k], say,
      onValue: (v) => setting(k, v) });
    return S[k].row;
  };
  const kindSel = select({ label: "cell", name: "kind", value: cfg.kind,
    options: [["rnn", "vanilla RNN"], ["lstm", "LSTM"], ["gru", "GRU"]], onChange: (v) => setting("kind", v) });
  const enableBias = () => {
    S.forget_bias.range.disabled = S.forget_bias.box.disabled = cfg.kind !== "lstm";
    S.update_bias.range.disabled = S.update_bias.box.disabled = cfg.kind !== "gru";
  };
  root.append(
    h("p", { class: "cw-note", text: "Each sequence: a symbol (one of 4), d − 1 distractors, then a query; the model " +
      "must name the symbol from its last state. Chance is 1/4, a uniform guess costs ln 4 ≈ 1.386 nats." }),
    h("div", { class: "cw-grid2" },
      h("fieldset", {}, h("legend", { text: "Task and model" }), mk("distance", "distance d", 1, 0),
        h("div", {}, kindSel.row), mk("hidden", "hidden units H", 1, 0),
        mk("forget_bias", "forget-gate bias (LSTM)", 0.5, 1), mk("update_bias", "update-gate bias (GRU, < 0 keeps)", 0.5, 1)),
      h("fieldset", {}, h("legend", { text: "Training" }), mk("lr", "learning rate", 0.001, 3),
        mk("batch", "batch size", 1, 0), mk("seed", "seed", 1, 0), mk("steps", "steps per Train", 10, 0))),
    h("div", {}, trainBtn, pauseBtn, stepBtn, resetBtn), status, readout,
    h("div", { class: "cw-grid2" }, h("div", {}, c1.svg, trainLegend(S1)), h("div", {}, c2.svg, trainLegend(S2))));
  enableBias();
  root._createRun = createRun;     // for tests: time a step on the page
  rebuild();
  root.setAttribute("data-ready", "1");

  const unlisten = listen(KEYS, () => {
    cfg = load();
    for (const k of KEYS) if (S[k]) S[k].set(cfg[k]);
    kindSel.sel.value = cfg.kind;
    enableBias();
    rebuild();
  });
  return () => { gen += 1; running = false; if (timer !== null) clearTimeout(timer); if (worker) worker.terminate(); unlisten(); };
}

export default { render };
