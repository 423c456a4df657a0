"""Chapter 12's character model: corpus, shipped weights, torch parity, sampler, baselines,
interpretable-cell tools, the page's test vectors, the widget and the training script."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from companion import charlm

ROOT = Path(__file__).parents[1]
LOG = json.loads((ROOT / "data" / "charlm" / "train_log.json").read_text())


@pytest.fixture(scope="module")
def corpus():
    return charlm.load_corpus()


@pytest.fixture(scope="module")
def lstm():
    return charlm.load("lstm")


# ---------------------------------------------------------------- corpus and weights

def test_corpus_is_the_one_trained_on_and_split_in_contiguous_blocks(corpus):
    assert charlm.corpus_sha256() == LOG["corpus_sha256"]
    train, val, test = charlm.split_corpus(corpus)
    assert train + val + test == corpus
    assert len(val) > 10_000 and len(test) > 10_000
    assert LOG["train_chars"] == len(train) and LOG["val_chars"] == len(val)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_weights_are_small_float32_and_fit_the_vocabulary(kind, corpus):
    path = ROOT / "data" / "charlm" / f"{kind}.npz"
    assert path.stat().st_size <= 1_000_000
    f = np.load(path)
    assert all(f[k].dtype == np.float32 for k in f.files if k != "vocab")
    m = charlm.load(kind)
    assert m.vocab == charlm.vocabulary(corpus)
    assert m.layer.params["weight_ih_l0"].shape == ((4 if kind == "lstm" else 3) * m.H, m.K)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_numpy_forward_equals_torch_float32(kind, corpus):
    torch = pytest.importorskip("torch")
    m = charlm.load(kind)
    ids = charlm.encode(charlm.split_corpus(corpus)[2][:3000], m.vocab)
    logits, hs, _ = m.forward(ids)
    rnn, head = m.to_torch()
    with torch.no_grad():
        h_t, _ = rnn(torch.from_numpy(m.one_hot(ids)))
        o_t = head(h_t[:, 0])
    assert logits.dtype == np.float32
    np.testing.assert_allclose(hs, h_t[:, 0].numpy(), atol=1e-5, rtol=0, err_msg="h_t")
    np.testing.assert_allclose(logits, o_t.numpy(), atol=1e-5, rtol=1e-5, err_msg="logits")


def test_bad_input_is_refused(lstm):
    with pytest.raises(ValueError, match="kind"):
        charlm.load("rnn")
    with pytest.raises(ValueError, match="text"):
        charlm.encode("\x07", lstm.vocab)
    with pytest.raises(ValueError, match="prime"):
        charlm.sample(lstm, "", 5)
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(lstm, "The", 5, temperature=0.0)
    with pytest.raises(ValueError, match="n"):
        charlm.sample(lstm, "The", -1)
    with pytest.raises(ValueError, match="order"):
        charlm.KneserNey([0, 1], 0, 2)


# ---------------------------------------------------------------- sampling

def test_softmax_temperature():
    o = np.array([1.0, 2.0, 3.0])
    assert np.allclose(charlm.softmax_temperature(o, 1.0), np.exp(o) / np.exp(o).sum())
    assert np.allclose(charlm.softmax_temperature(o, 0.5), np.exp(2 * o) / np.exp(2 * o).sum())
    assert charlm.softmax_temperature(o, 0.05).argmax() == 2
    assert np.all(np.isfinite(charlm.softmax_temperature(o + 1000, 0.05)))


def test_draw_is_the_inverse_cdf():
    p = np.array([0.2, 0.3, 0.5])
    assert [charlm.draw(p, u)[0] for u in (0.0, 0.19, 0.2, 0.49, 0.5, 0.999)] == [0, 0, 1, 1, 2, 2]
    assert charlm.draw(np.array([0.5, 0.5, 0.0]), 1.0)[0] == 1


def test_same_seed_same_text(lstm):
    m = lstm.astype(np.float64)
    a = charlm.sample(m, "The ", 60, 1.0, seed=3)
    assert a == charlm.sample(m, "The ", 60, 1.0, seed=3)
    assert a != charlm.sample(m, "The ", 60, 1.0, seed=4)
    assert len(a) == 60 and set(a) <= set(m.vocab)


def test_page_vectors_are_current():
    """tests/js/charlm_vectors.json is what companion writes now (texts exactly, cells to 1e-9),
    and no draw was near a tie (the JavaScript's last bits cannot flip a character)."""
    from companion.widgets.charlm import VECTOR_CASES, vectors
    stored = json.loads((ROOT / "tests" / "js" / "charlm_vectors.json").read_text())
    fresh = vectors()
    assert len(VECTOR_CASES) == 6 and len({c["seed"] for c in VECTOR_CASES}) == 3
    assert [c["text"] for c in fresh["cases"]] == [c["text"] for c in stored["cases"]], \
        "run: python -c 'from companion.widgets.charlm import write_vectors; write_vectors()'"
    assert fresh["weights_sha256"] == stored["weights_sha256"]
    assert fresh["min_margin_exponent"] >= -9
    np.testing.assert_allclose(fresh["cells"]["C"], stored["cells"]["C"], atol=1e-9)


# ---------------------------------------------------------------- perplexity and baselines

def test_kneser_ney_is_a_distribution():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, 3000)
    ids[::7] = 2                           # some structure
    for order in (1, 3, 5):
        kn = charlm.KneserNey(ids, order, K=7)     # one character never seen
        for ctx in ([], [2], [1, 2, 3, 4], [6, 6, 6, 6]):
            p = np.array([kn.prob(ctx, w) for w in range(7)])
            assert np.all(p > 0) and abs(p.sum() - 1) < 1e-12, (order, ctx, p.sum())


def test_baselines_and_perplexity(corpus, lstm):
    train, _, test = charlm.split_corpus(corpus)
    K = lstm.K
    assert charlm.perplexity(charlm.uniform_cross_entropy(K)) == pytest.approx(K)
    uni = charlm.unigram_cross_entropy(train, test[:5000], lstm.vocab)
    assert uni < np.log(K)
    nats = charlm.cross_entropy(lstm, test[:5000])
    assert nats < uni - 1.0, "the LSTM must beat the unigram by a wide margin"


# ---------------------------------------------------------------- interpretable cells

def test_inside_masks():
    # the state after each character: an opening delimiter is inside, a closing one outside;
    # "$" inside code is a plain character; a blank line closes an open "(" (and inline code)
    text = "a $x(y)$ b `c$` (d (e) f) g\n\n(h ((`x"
    m = charlm.inside_masks(text)

    def show(k):
        return "".join("1" if v else "0" for v in m[k])
    assert show("math") == "001111100000000000000000000000000000"
    assert show("backticks") == "000000000001110000000000000000000011"
    assert show("parens") == "000011000000000011111111000001111111"


def test_auroc_equals_the_pairwise_definition():
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = np.round(rng.normal(size=80), 1)
        y = rng.random(80) < 0.3
        y[:2] = [True, False]
        pos, neg = s[y][:, None], s[~y][None, :]
        want = np.mean(pos > neg) + 0.5 * np.mean(pos == neg)
        assert charlm.auroc(s, y) == pytest.approx(want, abs=1e-12)
        assert charlm.auroc(-s, y) == pytest.approx(1 - want, abs=1e-12)


# ---------------------------------------------------------------- the widget

def test_widget_state_validation_and_sample(lstm):
    pytest.importorskip("anywidget")
    import traitlets

    from companion.widgets import CharLMSampler
    w = CharLMSampler(lstm, prime="The cell", seed=2, length=40, temperature=0.8, unit=5)
    state = w.static_state()
    assert set(state) >= {"weights", "prime", "temperature", "seed", "length", "unit", "view_text"}
    assert "text" not in state
    assert w.sample() == charlm.sample(lstm.astype(np.float64), "The cell", 40, 0.8, 2)
    for name, bad in (("prime", "\x07"), ("temperature", 0.0), ("unit", lstm.H), ("length", 0), ("seed", -1)):
        with pytest.raises(traitlets.TraitError, match=name):
            setattr(w, name, bad)
    assert w.prime == "The cell" and w.unit == 5


def test_js_size():
    js = ROOT / "src" / "companion" / "widgets" / "static" / "charlm.js"
    assert js.stat().st_size <= 9 * 1024


# ---------------------------------------------------------------- the training script

def test_training_script_runs_on_a_tiny_slice(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_charlm.py"), "--limit-chars", "4000",
                        "--steps", "3", "--eval-every", "2", "--hidden", "8", "--batch", "4", "--seq", "20",
                        "--out", str(tmp_path), "--quiet", "--device", "cpu"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    log = json.loads((tmp_path / "train_log.json").read_text())
    assert set(log["models"]) == {"lstm", "gru"}
    assert [e["step"] for e in log["models"]["lstm"]["log"]] == [2, 3]
    m = charlm.load("gru", path=tmp_path / "gru.npz")
    assert m.H == 8 and m.vocab == charlm.vocabulary(charlm.load_corpus())
    assert log["corpus_sha256"] == hashlib.sha256((ROOT / "data" / "corpus.txt").read_bytes()).hexdigest()


# ---------------------------------------------------------------- the exercises' bypasses are refused

def _fake_library(monkeypatch, module, name, fn):
    """Install a stand-in for a library module (SciPy, scikit-learn), as if it were installed."""
    import types
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        full = ".".join(parts[:i])
        if full not in sys.modules:
            monkeypatch.setitem(sys.modules, full, types.ModuleType(full))
    mod = sys.modules[module]
    fn.__module__ = module
    monkeypatch.setattr(mod, name, fn, raising=False)
    return mod


def test_library_functions_that_do_the_job_are_refused(monkeypatch):
    from companion.checks import charlm as checks

    def softmax(x, axis=None):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    special = _fake_library(monkeypatch, "scipy.special", "softmax", softmax)
    ok = checks.check_softmax_temperature(lambda o, tau: checks._softmax_temperature(o, tau), seed=0)
    assert not ok and "_softmax_temperature" in str(ok)
    via_module = checks.check_softmax_temperature(lambda o, tau: special.softmax(o / tau, axis=-1), seed=0)
    assert not via_module and "scipy.special.softmax" in str(via_module)
    assert special.softmax is softmax                      # put back
    # and a correct answer of its own still passes with the library present
    assert checks.check_softmax_temperature(lambda o, tau: softmax_own(o, tau), seed=0)

    def roc_auc_score(y, s):
        return checks.reference_auroc(s, y)
    metrics = _fake_library(monkeypatch, "sklearn.metrics", "roc_auc_score", roc_auc_score)
    via_module = checks.check_auroc(lambda s, y: metrics.roc_auc_score(y, s), seed=0)
    assert not via_module and "roc_auc_score" in str(via_module)
    assert not checks.check_auroc(lambda s, y: checks._auroc(s, y), seed=0)
    assert metrics.roc_auc_score is roc_auc_score


def softmax_own(o, tau):
    z = (o - o.max(axis=-1, keepdims=True)) / tau
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def test_the_private_answers_are_refused():
    from companion.checks import charlm as checks
    for answer in (lambda *a: checks._best_mixture(*a),
                   lambda *a: tuple(float(v) for v in checks._mixture(*a).values())):
        fb = checks.check_best_mixture(answer, seed=0)
        assert not fb and "calls" in str(fb), str(fb)
