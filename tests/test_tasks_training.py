"""The generated tasks (shapes, labels right by construction, seeded) and the training loop."""
import subprocess
import sys

import numpy as np
import pytest

from companion import tasks


def test_import_companion_does_not_import_torch():
    code = ("import sys, companion, companion.tasks, companion.checks.long_range, companion.checks.applications, "
            "companion.checks.trained_lstm; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("make", [
    lambda s: tasks.recall_task(50, 7, seed=s), lambda s: tasks.adding_problem(50, 10, seed=s),
    lambda s: tasks.sentiment_task(50, seed=s), lambda s: tasks.motif_task(50, seed=s),
    lambda s: tasks.ner_task(50, seed=s), lambda s: tasks.melody_task(50, seed=s)])
def test_seeded(make):
    a, b, c = make(3), make(3), make(4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_recall_task():
    d = tasks.recall_task(200, 20, n_symbols=4, n_noise=3, seed=0)
    assert d.x.shape == (200, 21) and d.y.shape == (200,)
    assert np.array_equal(d.x[:, 0], d.y)                          # the answer is the first token
    assert (d.x[:, -1] == 7).all() and d.vocab[7] == "?"          # the query reads it, 20 steps later
    assert ((d.x[:, 1:-1] >= 4) & (d.x[:, 1:-1] < 7)).all()       # distractors only in between
    assert set(np.unique(d.y)) == {0, 1, 2, 3}
    assert tasks.recall_task(5, 1).x.shape == (5, 2)
    with pytest.raises(ValueError):
        tasks.recall_task(5, 0)


def test_adding_problem():
    d = tasks.adding_problem(100, 12, seed=1)
    assert d.x.shape == (100, 12, 2) and d.y.shape == (100,)
    assert (d.x[..., 1].sum(1) == 2).all()
    assert (d.info["first"] < 6).all() and (d.info["second"] >= 6).all()
    assert np.allclose(d.y, [row[m == 1, 0].sum() for row, m in zip(d.x, d.x[..., 1], strict=True)])


def _sentiment_label(words):
    """Recompute the label from the words: polarity of the last adjective, flipped by a "not" before it."""
    pos, neg = {"good", "great", "fun", "superb"}, {"bad", "dull", "awful", "boring"}
    k = max(t for t, w in enumerate(words) if w in pos | neg)
    return int((words[k] in pos) != (k > 0 and words[k - 1] == "not"))


def test_sentiment_labels_by_construction():
    d = tasks.sentiment_task(300, length=12, seed=2)
    assert d.x.shape == (300, 12) and set(np.unique(d.y)) == {0, 1}
    for row, label, n_op in zip(d.x, d.y, d.info["opinions"], strict=True):
        words = [d.vocab[t] for t in row if t != 0]
        assert d.vocab[row[-1]] != "<pad>"                         # left-padded: the last step is a word
        assert _sentiment_label(words) == label, words
        assert words.count("but") == n_op - 1
    k_not = [row[np.flatnonzero(np.isin(row, range(1, 9)))[-1] - 1] == d.vocab.index("not") for row in d.x]
    assert np.array_equal(k_not, d.info["last_negated"])
    # the same words in another order can carry the other label: order matters
    texts = {}
    short = tasks.sentiment_task(3000, length=11, seed=2)
    for row, label in zip(short.x, short.y, strict=True):
        texts.setdefault(tuple(sorted(t for t in row if t)), set()).add(int(label))
    with pytest.raises(ValueError):
        tasks.sentiment_task(3, length=10)
    assert any(len(v) == 2 for v in texts.values())


def test_motif_labels_by_construction():
    d = tasks.motif_task(300, length=30, motif="TATA", seed=3)
    assert d.x.shape == (300, 30)
    for row, label in zip(d.x, d.y, strict=True):
        assert ("TATA" in "".join("ACGT"[c] for c in row)) == bool(label)
    assert 0.4 < d.y.mean() < 0.7


def test_ner_tags_by_construction():
    d = tasks.ner_task(300, length=8, seed=4)
    assert d.x.shape == d.y.shape == (300, 8)
    per, loc = {"alice", "bob", "minh", "lan"}, {"paris", "hanoi", "rome", "hue"}
    pad = d.x == 0
    assert (d.y[pad] == -100).all() and (d.y[~pad] >= 0).all()
    for row, tags in zip(d.x, d.y, strict=True):
        for tok, tag in zip(row, tags, strict=True):
            w = d.vocab[tok]
            if w in per:
                assert tag == 1
            elif w in loc:
                assert tag == 2
            elif w in ("jordan", "georgia"):
                assert tag in (1, 2)
            elif w != "<pad>":
                assert tag == 0
    amb = d.info["ambiguous"]
    assert amb.any() and set(np.unique(d.y[amb])) == {1, 2}        # the same word, both tags


def test_melody():
    d = tasks.melody_task(40, seed=5)
    assert d.x.shape == (40, 8) and d.y.shape == (40, 7)
    assert np.array_equal(d.y, d.x[:, 1:])
    for row in d.x:
        assert list(row - row[0]) == (tasks.MAJOR if row[0] % 2 == 0 else tasks.MINOR)
    assert d.x.max() < 24


def test_split():
    d = tasks.motif_task(10, seed=0)
    a, b = d.split(7)
    assert len(a) == 7 and len(b) == 3 and np.array_equal(b.x, d.x[7:])


# --------------------------------------------------------------------------- training (torch)

torch = pytest.importorskip("torch")


def test_fit_reduces_loss_and_is_seeded():
    from companion import training
    d = tasks.recall_task(128, 3, seed=0)

    def run():
        m = training.SequenceModel("lstm", len(d.vocab), 8, 4)
        h = training.fit(m, d.x, d.y, epochs=8, batch_size=32, lr=0.03, progress=False, seed=1)
        return m, h

    # No wall-clock assertion: these machines are shared (speed is benchmarks/' business).
    m, h = run()
    assert h[-1]["loss"] < 0.5 * h[0]["loss"]
    assert training.accuracy(m, d.x, d.y) > 0.9
    _, h2 = run()
    assert [e["loss"] for e in h] == [e["loss"] for e in h2]        # seeded: the same run twice


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_model_shapes_and_interop(kind):
    import companion
    from companion import training
    m = training.SequenceModel(kind, 5, 4, 3, output="all")
    x = np.random.default_rng(0).integers(0, 5, (2, 6))
    assert training.predict(m, x).shape == (2, 6, 3)
    layer = companion.from_torch(m.rnn)
    with torch.no_grad():
        ref, _ = m.rnn(m.encode(torch.from_numpy(x)))
    out, _ = layer(np.eye(5)[x])
    assert np.abs(out - ref.double().numpy()).max() < 1e-5
    mb = training.SequenceModel(kind, 5, 4, 3, bidirectional=True)
    assert training.predict(mb, x).shape == (2, 3)


def test_forget_bias():
    from companion import training
    m = training.SequenceModel("lstm", 3, 4, 2, forget_bias=2.0)
    b = (m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0).detach().numpy()
    assert np.allclose(b[4:8], 2.0) and np.allclose(b[:4], -2.0)
    with pytest.raises(ValueError):
        training.SequenceModel("rnn", 3, 4, 2, forget_bias=1.0)


def test_regression_loss_and_generate():
    from companion import training
    d = tasks.adding_problem(64, 5, seed=0)
    m = training.SequenceModel("gru", 2, 8, 1, inputs="vectors")
    h = training.fit(m, d.x, d.y, epochs=5, batch_size=16, lr=0.01, progress=False)
    assert h[-1]["loss"] < h[0]["loss"]
    g = training.generate(training.SequenceModel("lstm", 24, 4, 24, output="all"), np.arange(3), 7)
    assert g.shape == (3, 8) and (g[:, 0] == np.arange(3)).all()


def test_device_is_cuda_when_available():
    from companion import training
    assert training.DEVICE.type == ("cuda" if torch.cuda.is_available() else "cpu")


# --- train_numpy / forward_backward: companion's numpy layers with companion.optim

def _numpy_model(kind="rnn", H=4, K=2, seed=0):
    import companion
    layer = {"rnn": companion.RNN, "lstm": companion.LSTM, "gru": companion.GRU}[kind](2, H, seed=seed)
    return layer, companion.OutputHead(H, K, seed=seed + 1)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("output, loss", [("all", "cross_entropy"), ("last", "cross_entropy"),
                                          ("all", "mse"), ("last", "mse")])
def test_forward_backward_gradients_are_finite_differences(kind, output, loss):
    from companion import numerical_grad
    from companion.numpy_training import forward_backward
    layer, head = _numpy_model(kind, K=2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 2))                                  # (T, B, D)
    shape = (5, 3) if output == "all" else (3,)
    y = rng.integers(0, 2, shape) if loss == "cross_entropy" else rng.standard_normal(shape + (2,))
    L, o, d_x = forward_backward(layer, head, x, y, output=output, loss=loss)
    assert o.shape == shape + (2,) and d_x.shape == x.shape
    grads = {**layer.grads, **head.grads}

    def f():
        return forward_backward(layer, head, x, y, output=output, loss=loss)[0]
    for name, p in {**layer.params, **head.params}.items():
        assert np.allclose(numerical_grad(f, p), grads[name], atol=1e-7), name
    assert np.allclose(numerical_grad(f, x), d_x, atol=1e-7)


def test_train_numpy_sgd_step_and_clipping():
    from companion.numpy_training import forward_backward, train_numpy
    from companion.optim import SGD
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4, 2)), rng.integers(0, 2, (6, 4))
    layer, head = _numpy_model()
    before = {k: p.copy() for k, p in {**layer.params, **head.params}.items()}
    forward_backward(layer, head, x, y)
    g = {**layer.grads, **head.grads}
    rec = train_numpy(layer, head, (x, y), SGD({**layer.params, **head.params}, lr=0.1), 1)
    for k, p in {**layer.params, **head.params}.items():               # theta <- theta - lr g
        assert np.allclose(p, before[k] - 0.1 * g[k]), k
    assert np.isclose(rec["step_norm"][0], 0.1 * rec["grad_norm"][0])
    layer, head = _numpy_model()
    rec = train_numpy(layer, head, (10 * x, y), SGD({**layer.params, **head.params}, lr=0.1), 5, clip=1e-3)
    assert (rec["grad_norm"] > 1e-3).all() and (rec["step_norm"] <= 0.1 * 1e-3 + 1e-12).all()


def test_train_numpy_learns_and_is_seeded():
    from companion.numpy_training import train_numpy
    from companion.optim import Adam

    def run():
        rng = np.random.default_rng(1)

        def data():                                  # many to one: the sign of the first input
            x = rng.standard_normal((4, 32, 2))
            return x, (x[0, :, 0] > 0).astype(int)
        layer, head = _numpy_model("lstm", H=8)
        return train_numpy(layer, head, data, Adam({**layer.params, **head.params}, lr=0.05), 80,
                           output="last")
    rec = run()
    assert set(rec) == {"loss", "grad_norm", "step_norm", "accuracy"} and rec["loss"].shape == (80,)
    assert rec["loss"][-10:].mean() < 0.3 * rec["loss"][:10].mean()
    assert rec["accuracy"][-10:].mean() > 0.9
    assert all(np.array_equal(rec[k], run()[k]) for k in rec)          # the same run twice


def test_train_numpy_refuses_bad_input_naming_it():
    import companion
    from companion.numpy_training import forward_backward, train_numpy
    from companion.optim import Adam
    layer, head = _numpy_model()
    x, y = np.zeros((3, 2, 2)), np.zeros((3, 2), dtype=int)
    opt = Adam({**layer.params, **head.params})
    before = {k: p.copy() for k, p in {**layer.params, **head.params}.items()}
    bad = [({"steps": 0}, "steps"), ({"output": "first"}, "output"), ({"loss": "l1"}, "loss"),
           ({"clip": -1.0}, "clip"), ({"clip": True}, "clip"), ({"data": 3}, "data"),
           ({"optimizer": Adam(companion.OutputHead(4, 2).params)}, "optimizer"),
           ({"layer": "rnn"}, "layer"), ({"data": (x, y.astype(float))}, "y"),
           ({"data": (x, y), "loss": "mse"}, "y")]
    for change, name in bad:
        kwargs = {"layer": layer, "head": head, "data": (x, y), "optimizer": opt, "steps": 2, **change}
        with pytest.raises(ValueError, match=rf"^{name}\b"):
            train_numpy(**kwargs)
    assert all(np.array_equal(p, before[k]) for k, p in {**layer.params, **head.params}.items())
    with pytest.raises(ValueError, match="^output"):
        forward_backward(layer, head, x, y, output="middle")
