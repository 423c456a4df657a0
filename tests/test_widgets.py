"""companion.widgets: Python state round-trips, values equal companion.cells, bad state refused,
the JavaScript bundles are sound and small, and the shared test vectors cannot drift.

The JavaScript math itself is checked by ``node --test tests/js/`` against
tests/js/vectors.json; the browser behaviour by tests/widgets_browser/.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import companion
from companion import cells

anywidget = pytest.importorskip("anywidget")
import traitlets  # noqa: E402

import companion.widgets as cw  # noqa: E402
from companion.widgets import embed, explorers, vectors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "js" / "vectors.json"
STATIC = ROOT / "src" / "companion" / "widgets" / "static"
NODE = shutil.which("node")


# --------------------------------------------------------------------------- packaging

def test_import_companion_stays_light():
    code = ("import sys, companion; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'matplotlib', 'anywidget', 'ipywidgets', 'IPython') or m == 'companion.widgets']; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"import companion pulled in: {r.stdout} {r.stderr}"


def test_import_widgets_does_not_import_torch():
    code = "import sys, companion.widgets as cw; cw.LSTMExplorer(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr


def test_vectors_regenerate_identically(tmp_path):
    """The committed vectors are what the package writes now: JS and Python cannot drift."""
    fresh = tmp_path / "vectors.json"
    vectors.write(fresh)
    new, old = fresh.read_text(), VECTORS.read_text()
    if new == old:
        return
    # Not byte-identical: allow only last-bit differences of libm (another platform).
    a, b = json.loads(new), json.loads(old)
    assert [c["name"] for c in a["cases"]] == [c["name"] for c in b["cases"]], \
        "tests/js/vectors.json is stale: run `python -m companion.widgets.vectors tests/js/vectors.json`"
    for ca, cb in zip(a["cases"], b["cases"], strict=True):
        for k in ca:
            if k == "expected":
                for n in ca[k]:
                    x, y = ca[k][n], cb[k][n]
                    assert (x is None) == (y is None), f"{ca['name']}: {n}"
                    if x is not None:
                        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15,
                                                   err_msg=f"{ca['name']}: {n}: stale vectors")
            else:
                assert ca[k] == cb[k], f"{ca['name']}: input {k} differs: stale vectors"


def test_vectors_cover_every_cell_and_variant():
    data = json.loads(VECTORS.read_text())
    kinds = {(c["cell"], c.get("nonlinearity", c.get("peephole", c.get("variant")))) for c in data["cases"]
             if c["cell"] != "sequence"}
    assert kinds == {("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("lstm", "diagonal"),
                     ("lstm", "full"), ("gru", "lecture"), ("gru", "torch")}
    assert {c["kind"] for c in data["cases"] if c["cell"] == "sequence"} == {"rnn", "lstm", "gru"}
    assert data["tolerance"] == 1e-9


def test_js_and_python_share_bounds():
    import re
    text = (STATIC / "ui.js").read_text()
    body = re.search(r"export const BOUNDS = \{([^}]*)\}", text).group(1)
    js = {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", body)}
    assert js == explorers.BOUNDS


def test_js_size_under_120_kb():
    total = sum(p.stat().st_size for p in STATIC.glob("*.js"))
    assert total < 120_000, f"widget JavaScript is {total} bytes"


@pytest.mark.parametrize("module", embed.MODULES)
def test_bundles_are_valid_javascript(module, tmp_path):
    src = embed.bundle(module)
    assert "import " not in src.split("\n", 1)[0]
    classic = embed.classic(module)
    assert "</script" not in classic.lower() and "export " not in classic
    if NODE is None:
        pytest.skip("node is not installed: syntax of the bundles not checked")
    (tmp_path / "m.mjs").write_text(src)
    (tmp_path / "c.js").write_text("var x = " + classic + ";\n")
    for f in ("m.mjs", "c.js"):
        r = subprocess.run([NODE, "--check", str(tmp_path / f)], capture_output=True, text=True)
        assert r.returncode == 0, f"{module} {f}: {r.stderr}"
    # the ES module loads in node and exports render (no DOM is touched at import)
    r = subprocess.run([NODE, "--input-type=module", "-e",
                        f"import m from {json.dumps((tmp_path / 'm.mjs').as_uri())}; "
                        "if (typeof m.render !== 'function') process.exit(1);"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_suite_passes():
    r = subprocess.run([NODE, "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


# --------------------------------------------------------------------------- values equal companion

def _lstm_w(weights, peephole):
    """The explorer's scalars as cells.lstm_step's arrays, shaped by the schema; the peephole
    weights only with peepholes (lstm_step refuses w_c* when peephole is None rather than ignore them)."""
    form = "diagonal" if peephole else None
    return {k: np.full(cells.weight_shape(k, 1, 1, form), v) for k, v in weights.items()
            if k in cells.weight_names("lstm", form)}


def _gru_w(weights):
    return {k: np.full(cells.weight_shape(k, 1, 1), v) for k, v in weights.items()}


@pytest.mark.parametrize("preset", list(explorers.LSTM_PRESETS))
@pytest.mark.parametrize("peephole", [False, True])
def test_lstm_state_round_trip(preset, peephole):
    w = cw.LSTMExplorer(preset=preset)
    w.peephole = peephole
    w.weights = {**w.weights, "w_cf": 0.7, "w_ci": -0.4, "w_co": 1.3}
    w.x_t, w.h_prev, w.C_prev = -0.35, 0.4, 1.25
    state = w.get_state()
    assert state["x_t"] == -0.35 and state["C_prev"] == 1.25 and state["peephole"] is peephole
    expect = cells.lstm_step(np.array([-0.35]), np.array([0.4]), np.array([1.25]), _lstm_w(w.weights, peephole),
                             peephole="diagonal" if peephole else None)
    for k, v in expect._asdict().items():
        assert w.outputs[k] == float(v[0]), k
    # a change as the browser sends it (several keys at once)
    w.set_state({"x_t": 0.8, "weights": {**w.weights, "b_f": -1.0}})
    expect = cells.lstm_step(np.array([0.8]), np.array([0.4]), np.array([1.25]), _lstm_w(w.weights, peephole),
                             peephole="diagonal" if peephole else None)
    assert w.outputs["C_t"] == float(expect.C_t[0])


def test_lstm_presets_do_what_they_say():
    out = {p: cw.LSTMExplorer(preset=p).outputs for p in explorers.LSTM_PRESETS}
    assert out["remember"]["f_t"] > 0.99 and abs(out["remember"]["C_t"] - 2.0) < 0.02
    assert abs(out["remember"]["h_t"]) < 0.01                 # kept, not shown
    assert abs(out["read"]["h_t"] - np.tanh(out["read"]["C_t"])) < 0.01   # kept and shown
    assert abs(out["forget"]["C_t"]) < 0.02
    assert out["write"]["i_t"] > 0.99 and abs(out["write"]["C_t"] - np.tanh(3.0)) < 0.02


def test_lstm_from_companion_layer_and_torch():
    layer = companion.LSTM(1, 1, seed=3, peephole="diagonal")
    w = cw.LSTMExplorer(layer)
    assert w.peephole is True
    cwts = layer.cell_weights()
    assert w.weights["W_xf"] == float(cwts["W_xf"][0, 0]) and w.weights["w_co"] == float(cwts["w_co"][0])
    y, _ = layer.forward(np.array([[w.x_t]]), (np.array([[w.h_prev]]), np.array([[w.C_prev]])))
    assert abs(w.outputs["h_t"] - y[0, 0]) < 1e-12
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    m = torch.nn.LSTM(1, 1)
    w2 = cw.LSTMExplorer(m)
    assert w2.weights["b_i"] == pytest.approx(float(m.bias_ih_l0[0].detach() + m.bias_hh_l0[0].detach()), abs=1e-7)
    with pytest.raises(ValueError, match="input_size = hidden_size = 1"):
        cw.LSTMExplorer(companion.LSTM(2, 3))
    with pytest.raises(ValueError, match="expected a LSTM"):
        cw.LSTMExplorer(companion.GRU(1, 1))


def test_rnn_state_round_trip():
    w = cw.RNNCellExplorer()
    w.x_t, w.h_prev, w.U, w.W, w.b = 2.0, -0.5, 1.2, 0.3, -0.1
    w.update(V=[1.0, -2.0, 0.5, 3.0], c=[0.1, 0.2, 0.3, 0.4])     # K changes: V and c together
    s = cells.rnn_step(np.array([2.0]), np.array([-0.5]), np.array([[1.2]]), np.array([[0.3]]),
                       np.array([-0.1]), np.array([[1.0], [-2.0], [0.5], [3.0]]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert w.outputs["a_t"] == float(s.a_t[0]) and w.outputs["h_t"] == float(s.h_t[0])
    assert w.outputs["y_hat_t"] == s.y_hat_t.tolist() and w.get_state()["V"] == [1.0, -2.0, 0.5, 3.0]
    w.nonlinearity = "relu"
    assert w.outputs["h_t"] == max(0.0, w.outputs["a_t"])
    layer = companion.RNN(1, 1, seed=1)
    w2 = cw.RNNCellExplorer(layer)
    assert w2.U == float(layer.params["weight_ih_l0"][0, 0])


@pytest.mark.parametrize("variant", ["lecture", "torch"])
def test_gru_state_round_trip_and_forms(variant):
    w = cw.GRUExplorer(variant=variant)
    w.x_t, w.h_prev = 0.6, -0.3
    s = cells.gru_step(np.array([0.6]), np.array([-0.3]), _gru_w(w.weights), variant=variant)
    for k in ("z_t", "r_t", "h_tilde_t", "h_t"):
        assert w.outputs[k] == float(getattr(s, k)[0]), k
    other = "torch" if variant == "lecture" else "lecture"
    o = cells.gru_step(np.array([0.6]), np.array([-0.3]), _gru_w(explorers.map_gru_variant(w.weights)), variant=other)
    assert w.outputs["h_t_other"] == float(o.h_t[0])
    assert w.outputs["h_t"] != w.outputs["h_t_other"]             # b_hh = 0.5: the forms differ
    w.weights = {**w.weights, "b_hh": 0.0}                       # one unit, b_hh = 0: they agree
    assert abs(w.outputs["h_t"] - w.outputs["h_t_other"]) < 1e-15
    h_before, z_before = w.outputs["h_t"], w.outputs["z_t"]
    w.switch_variant()
    assert w.variant == other and abs(w.outputs["h_t"] - h_before) < 1e-15
    assert abs(w.outputs["z_t"] - (1 - z_before)) < 1e-15


def test_gru_from_torch_module():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    m = torch.nn.GRU(1, 1)
    w = cw.GRUExplorer(m)
    assert w.variant == "torch"
    with torch.no_grad():
        _, h = m(torch.tensor([[w.x_t]]), torch.tensor([[w.h_prev]]))
    assert abs(w.outputs["h_t"] - float(h[0, 0])) < 1e-6      # float32 torch


@pytest.mark.parametrize("make", [
    lambda: companion.LSTM(2, 3, seed=0),
    lambda: companion.LSTM(2, 3, seed=0, peephole="full"),
    lambda: companion.GRU(3, 2, seed=0, variant="lecture"),
    lambda: companion.GRU(3, 2, seed=0, variant="torch"),
    lambda: companion.RNN(2, 4, seed=0),
], ids=["lstm", "lstm-full-peephole", "gru-lecture", "gru-torch", "rnn"])
def test_stepper_traces_equal_layer_traces(make):
    layer = make()
    xs = np.random.default_rng(0).uniform(-1, 1, (7, layer.input_size))
    w = cw.SequenceStepper(layer, xs=xs)
    layer.forward(xs)
    ref = layer.traces["l0"]
    for k, v in w.traces.items():
        np.testing.assert_allclose(v, ref[k], rtol=1e-12, atol=1e-14, err_msg=k)
    assert w.t == 7 and w.get_state()["xs"] == xs.tolist()
    w.set_state({"xs": [[0.0] * layer.input_size] * 3, "t": 2})
    assert np.shape(w.traces["h"]) == (3, layer.hidden_size)


def test_stepper_default_shows_slow_cell_fast_output():
    w = cw.SequenceStepper()
    C, h = np.array(w.traces["C"])[:, 0], np.array(w.traces["h"])[:, 0]
    assert np.abs(np.diff(h)).mean() > 3 * np.abs(np.diff(C)).mean()


def test_stepper_from_torch():
    torch = pytest.importorskip("torch")
    m = torch.nn.LSTM(2, 3)
    xs = np.random.default_rng(1).uniform(-1, 1, (5, 2))
    w = cw.SequenceStepper(m, xs=xs)
    with torch.no_grad():
        y, _ = m(torch.tensor(xs, dtype=torch.float32))
    np.testing.assert_allclose(w.traces["h"], y.numpy(), atol=1e-6)


# --------------------------------------------------------------------------- one weight schema

def test_explorers_weight_names_are_the_schemas():
    """The widgets spell no weight name of their own: the explorers' weights are companion.cells'."""
    assert explorers.LSTM_NAMES == cells.weight_names("lstm", "diagonal")
    assert explorers.GRU_NAMES == cells.weight_names("gru")
    assert set(cw.LSTMExplorer().weights) == set(cells.weight_names("lstm", "diagonal"))
    assert set(cw.GRUExplorer().weights) == set(cells.weight_names("gru"))
    assert set(cells.weight_names("rnn")) <= set(cw.RNNCellExplorer().static_state())
    for preset in explorers.LSTM_PRESETS.values():
        assert set(preset["weights"]) == set(cells.weight_names("lstm", "diagonal"))


def test_js_weight_names_are_the_schemas():
    """The pages lay their sliders out by gate from their own lists: the same names as the schema."""
    import re

    def names(module, const):
        text = (STATIC / f"{module}.js").read_text()
        body = re.search(rf"^const {const} = \[([^\]]*)\];", text, re.M).group(1)
        return re.findall(r'"(\w+)"', body)

    lstm = names("lstm", "WEIGHTS") + names("lstm", "PEEP")
    assert sorted(lstm) == sorted(cells.weight_names("lstm", "diagonal")) and len(set(lstm)) == len(lstm)
    assert sorted(names("gru", "WEIGHTS")) == sorted(cells.weight_names("gru"))


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_stepper_weight_shapes_are_the_schemas():
    """The stepper page checks the weights it reads with its own weightShapes: the schema's shapes."""
    import re
    src = (STATIC / "stepper.js").read_text()
    fn = re.search(r"^function weightShapes\(.*?^\}\n", src, re.M | re.S).group(0)
    forms = [(k, p) for k in cells.CELL_KINDS for p in (cells.PEEPHOLES if k == "lstm" else (None,))]
    sizes = [(1, 1), (3, 2), (2, 5)]
    script = fn + "console.log(JSON.stringify(" + json.dumps([[k, p, D, H] for k, p in forms for D, H in sizes]) + \
        ".map(([k, p, D, H]) => weightShapes(k, p, H, D))));"
    r = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = iter(json.loads(r.stdout))
    for k, p in forms:
        for D, H in sizes:
            want = cells.weight_shapes(k, D, H, p)
            assert {n: tuple(v) for n, v in next(got).items()} == want, (k, p, D, H)


@pytest.mark.parametrize("kind,peephole", [("rnn", None), ("lstm", None), ("lstm", "diagonal"),
                                           ("lstm", "full"), ("gru", None)])
def test_stepper_takes_the_schemas_weights(kind, peephole):
    """Any weights of the schema's shapes are accepted (values: companion.cells'); one missing,
    one extra or one of another shape is refused and changes nothing."""
    from companion.widgets.sequence import run_sequence
    D, H = 3, 2
    xs = np.random.default_rng(0).uniform(-1, 1, (4, D))
    w = cells.random_weights(kind, D, H, 1, peephole=peephole)
    s = cw.SequenceStepper(kind=kind, peephole=peephole, xs=xs.tolist(), h0=[0.1, -0.2], C0=[0.0, 0.3],
                           weights={k: v.tolist() for k, v in w.items()})
    ref = run_sequence(kind, xs, w, [0.1, -0.2], [0.0, 0.3], peephole=peephole)
    assert set(s.traces) == set(ref)
    for k, v in ref.items():
        assert s.traces[k] == v.tolist(), k
    before = s.get_state()
    first = cells.weight_names(kind, peephole)[0]
    for bad in ({k: v for k, v in s.weights.items() if k != first},
                {**s.weights, "W_extra": [0.0] * H},
                {**s.weights, first: np.zeros(cells.weight_shape(first, D + 1, H)).tolist()}):
        with pytest.raises(traitlets.TraitError, match="weights"):
            s.weights = bad
        assert s.get_state() == before


def test_run_sequence_refuses_an_unknown_kind():
    from companion.widgets.sequence import run_sequence
    with pytest.raises(ValueError, match=r"^kind: expected one of 'rnn', 'lstm', 'gru', got 'lstmm'"):
        run_sequence("lstmm", [[0.0]], {}, [0.0])


def test_vectors_weights_are_the_schemas():
    """The test vectors' weights carry exactly the schema's names and shapes."""
    data = json.loads(VECTORS.read_text())
    for c in data["cases"]:
        x = c["xs"][0] if c["cell"] == "sequence" else c["x_t"]
        kind = c.get("kind", c["cell"])
        D, H = len(x), len(c["h0"] if c["cell"] == "sequence" else c["h_prev"])
        w = ({k: c[k] for k in cells.weight_names("rnn")} if kind == "rnn" and c["cell"] == "rnn" else c["w"])
        want = cells.weight_shapes(kind, D, H, c.get("peephole"))
        assert {k: np.shape(v) for k, v in w.items()} == want, c["name"]


# --------------------------------------------------------------------------- bad state

BAD_SCALARS = ["1.0", None, float("nan"), float("inf"), 1e9, True, [1.0], {"a": 1}]


@pytest.mark.parametrize("bad", BAD_SCALARS, ids=repr)
def test_bad_scalar_refused_and_widget_unchanged(bad):
    w = cw.LSTMExplorer()
    before = (w.x_t, dict(w.outputs))
    with pytest.raises(traitlets.TraitError, match="x_t"):
        w.x_t = bad
    with pytest.raises(traitlets.TraitError):
        w.set_state({"x_t": bad})               # as the browser would send it
    assert (w.x_t, w.outputs) == before
    w.x_t = 0.5                                  # and it keeps working
    assert w.outputs == {k: float(v[0]) for k, v in w.step()._asdict().items()} != before[1]


@pytest.mark.parametrize("bad", [
    {"W_xf": 1.0},                                       # missing keys
    {**explorers.LSTM_PRESETS["read"]["weights"], "evil": 1.0},
    {**explorers.LSTM_PRESETS["read"]["weights"], "b_f": "<img src=x onerror=alert(1)>"},
    {**explorers.LSTM_PRESETS["read"]["weights"], "b_f": 11.0},
    "weights",
], ids=["missing", "unknown", "string", "out-of-range", "not-a-dict"])
def test_bad_weights_refused(bad):
    w = cw.LSTMExplorer()
    before = dict(w.weights)
    with pytest.raises(traitlets.TraitError, match="weights"):
        w.weights = bad
    assert w.weights == before


def test_bad_choices_and_shapes_refused():
    g = cw.GRUExplorer()
    with pytest.raises(traitlets.TraitError, match="variant"):
        g.variant = "keras"
    r = cw.RNNCellExplorer()
    with pytest.raises(traitlets.TraitError, match="V: expected"):
        r.V = [0.0] * 11
    s = cw.SequenceStepper()
    before = s.get_state()
    for key, bad in [("xs", [[0.0]] * 101), ("xs", [[0.0, 1.0]] * 3), ("xs", [["a"]]), ("t", 99),
                     ("t", 0), ("unit", 1), ("h0", [0.0, 0.0]), ("kind", "gru"), ("peephole", "diagonal"),
                     ("weights", {"W_xf": [[1e6]]})]:
        with pytest.raises(traitlets.TraitError):
            s.set_state({key: bad})
        assert s.get_state() == before, key
    s.set_state({"t": 3})
    assert s.t == 3


def test_static_html_is_safe_and_deterministic():
    w = cw.LSTMExplorer()
    a, b = cw.static_html(w), cw.static_html(cw.LSTMExplorer())
    assert a == b
    assert a.count("<script") == 2 and 'type="application/json"' in a
    import re
    assert not re.search(r"(src|href)\s*=|https?://(?!www\.w3\.org/2000/svg)|fetch\(|XMLHttpRequest|import\(", a)
    hostile = embed.static_html(None, module="lstm", state={"x_t": "</script><script>alert(1)</script>"})
    assert "</script><script>alert" not in hostile
    assert hostile.count("</script>") == 2
    with pytest.raises(ValueError, match="module"):
        embed.static_html(None, module="../evil", state={})


def test_show_sends_live_view_and_static_html(monkeypatch):
    import IPython.display
    seen = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw=False, metadata=None: seen.append((data, raw)))
    w = cw.GRUExplorer()
    cw.show(w)
    (data, raw), = seen
    assert raw is True
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert data["text/html"] == cw.static_html(w)


def test_static_state_is_the_widgets_own_keys():
    keys = {W: sorted(getattr(cw, W)().static_state()) for W in cw._WIDGETS if W != "CharLMSampler"}
    assert keys == {
        "RNNCellExplorer": ["U", "V", "W", "b", "c", "h_prev", "nonlinearity", "x_t"],
        "LSTMExplorer": ["C_prev", "h_prev", "peephole", "presets", "weights", "x_t"],
        "GRUExplorer": ["h_prev", "variant", "weights", "x_t"],
        "SequenceStepper": ["C0", "feature", "h0", "kind", "nonlinearity", "peephole", "t",
                            "unit", "variant", "weights", "xs"],
        "GradientFlowExplorer": ["D", "H", "T", "forget_bias", "input_scale", "kind", "nonlinearity",
                                 "rho", "seed", "update_bias"],
        "TrainingRun": ["batch", "distance", "forget_bias", "hidden", "kind", "lr", "seed", "steps",
                        "update_bias"]}


def test_page_holds_every_widget():
    widgets = [cw.RNNCellExplorer(), cw.LSTMExplorer(), cw.GRUExplorer(), cw.SequenceStepper(),
               cw.GradientFlowExplorer(), cw.TrainingRun()]
    html = cw.page(widgets, theme="dark")
    assert html.startswith("<!doctype html>") and 'data-theme="dark"' in html
    assert [m for m in embed.MODULES if f'data-cw-module="{m}"' in html] == [w._module for w in widgets]
