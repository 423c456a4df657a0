"""The output head (o = c + V h, y_hat = softmax(o)), the gradient-check tools themselves,
and the import boundary (``import companion`` loads neither torch nor matplotlib)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch  # a pinned test requirement: a missing torch must fail, not skip

import companion
from companion import OutputHead, check_layer_grads, numerical_grad, relative_error

torch.set_num_threads(1)


# --------------------------------------------------------------------------- OutputHead

def test_head_forward_is_slide_5():
    head = OutputHead(4, 3, seed=0)
    assert head.params["V"].shape == (3, 4) and head.params["c"].shape == (3,)
    k = 1 / np.sqrt(4)
    assert all(np.abs(p).max() <= k for p in head.params.values())
    h = np.random.default_rng(0).normal(size=(5, 2, 4))
    o, y_hat = head(h)
    np.testing.assert_allclose(o, head.params["c"] + np.einsum("kh,tbh->tbk", head.params["V"], h), rtol=1e-13)
    np.testing.assert_allclose(y_hat, np.exp(o) / np.exp(o).sum(-1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(y_hat.sum(-1), 1.0, rtol=0, atol=1e-15)
    # params are live
    head.params["c"][...] += 1.0
    np.testing.assert_allclose(head(h)[0], o + 1.0, rtol=1e-13)


@pytest.mark.parametrize("shape", [(5, 2), (6,), (1, 1)], ids=["TB", "T-unbatched", "T1B1"])
def test_head_loss_and_backward_finite_differences(shape):
    rng = np.random.default_rng(1)
    H, K = 3, 4
    head = OutputHead(H, K, seed=1)
    h = rng.normal(size=shape + (H,))
    y = rng.integers(0, K, size=shape)

    def loss():
        o, _ = head(h)
        return float(head.loss(o, y)[0])

    o, _ = head(h)
    L, d_o = head.loss(o, y)
    np.testing.assert_allclose(d_o, numerical_grad(lambda: float(head.loss(o, y)[0]), o), rtol=0, atol=1e-8)
    head(h)
    d_h = head.backward(d_o)
    assert set(head.grads) == {"V", "c"}
    for name, analytic in (("V", head.grads["V"]), ("c", head.grads["c"])):
        err = relative_error(analytic, numerical_grad(loss, head.params[name]))
        assert err < 1e-7, f"head grads[{name}]: {err:.2e}"
    err = relative_error(d_h, numerical_grad(loss, h))
    assert err < 1e-7, f"head d_h: {err:.2e}"


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_head_against_torch(dtype, tol):
    rng = np.random.default_rng(2)
    T, B, H, K = 5, 3, 4, 6
    head = OutputHead(H, K, dtype=dtype, seed=2)
    h = rng.normal(size=(T, B, H)).astype(dtype)
    y = rng.integers(0, K, size=(T, B))
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    lin = torch.nn.Linear(H, K, dtype=tdt)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(head.params["V"]))
        lin.bias.copy_(torch.tensor(head.params["c"]))
    ht = torch.tensor(h, requires_grad=True)
    ot = lin(ht)
    ot.retain_grad()
    Lt = torch.nn.functional.cross_entropy(ot.reshape(-1, K), torch.tensor(y).reshape(-1), reduction="sum") / B
    Lt.backward()
    o, y_hat = head(h)
    assert o.dtype == dtype
    L, d_o = head.loss(o, y)
    d_h = head.backward(d_o)
    for name, ours, ref in (("o", o, ot), ("y_hat", y_hat, torch.softmax(ot, -1)), ("L", L, Lt),
                            ("d_o", d_o, ot.grad), ("d_h", d_h, ht.grad),
                            ("grads[V]", head.grads["V"], lin.weight.grad),
                            ("grads[c]", head.grads["c"], lin.bias.grad)):
        ref = ref.detach().numpy()
        assert relative_error(ours, ref) <= tol, f"head {name} differs from torch ({np.dtype(dtype).name})"


def test_rnn_with_head_end_to_end_matches_torch():
    """The slides' full model: h(t) from the RNN, o(t) = c + V h(t), summed cross-entropy / B."""
    rng = np.random.default_rng(3)
    T, B, D, H, K = 6, 2, 3, 5, 4
    trnn = torch.nn.RNN(D, H, dtype=torch.float64)
    lin = torch.nn.Linear(H, K, dtype=torch.float64)
    rnn = companion.from_torch(trnn)
    head = OutputHead(H, K)
    head.params["V"][...] = lin.weight.detach().numpy()
    head.params["c"][...] = lin.bias.detach().numpy()
    x = rng.normal(size=(T, B, D))
    y = rng.integers(0, K, size=(T, B))
    xt = torch.tensor(x, requires_grad=True)
    out_t, _ = trnn(xt)
    Lt = torch.nn.functional.cross_entropy(lin(out_t).reshape(-1, K), torch.tensor(y).reshape(-1), reduction="sum") / B
    Lt.backward()
    out, _ = rnn(x)
    o, _ = head(out)
    L, d_o = head.loss(o, y)
    d_x, _ = rnn.backward(head.backward(d_o))
    assert abs(L - Lt.item()) <= 1e-12 * abs(L)
    assert relative_error(d_x, xt.grad.numpy()) < 1e-10
    for n, p in trnn.named_parameters():
        assert relative_error(rnn.grads[n], p.grad.numpy()) < 1e-10, n
    assert relative_error(head.grads["V"], lin.weight.grad.numpy()) < 1e-10
    assert relative_error(head.grads["c"], lin.bias.grad.numpy()) < 1e-10


def test_head_bad_input():
    head = OutputHead(4, 3)
    with pytest.raises(RuntimeError, match=r"backward: no forward pass recorded"):
        head.backward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"h: expected last dimension hidden_size=4, got shape \(2, 5\)"):
        head(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"h: expected finite values, got NaN"):
        head(np.full((2, 4), np.nan))
    head(np.zeros((5, 2, 4)))
    with pytest.raises(ValueError, match=r"d_o: expected shape \(5, 2, 3\) \(the shape of o\), got \(5, 2, 4\)"):
        head.backward(np.zeros((5, 2, 4)))
    with pytest.raises(ValueError, match=r"targets: expected class indices in \[0, 3\)"):
        head.loss(np.zeros((5, 2, 3)), np.full((5, 2), 3))
    with pytest.raises(ValueError, match=r"hidden_size: expected a positive integer, got 0"):
        OutputHead(0, 3)
    with pytest.raises(ValueError, match=r"num_classes: expected a positive integer, got -1"):
        OutputHead(4, -1)
    with pytest.raises(ValueError, match=r"dtype: expected np.float32 or np.float64"):
        OutputHead(4, 3, dtype=np.int64)


# --------------------------------------------------------------------------- gradcheck tools

def test_numerical_grad_is_central_difference_and_restores():
    x = np.array([0.3, -1.2, 2.0])
    before = x.copy()
    g = numerical_grad(lambda: float(np.sin(x).sum() + x[0] * x[1] ** 3), x)
    exact = np.cos(before) + np.array([before[1] ** 3, 3 * before[0] * before[1] ** 2, 0.0])
    np.testing.assert_allclose(g, exact, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_relative_error_definition():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1e-13], [0.0]) == pytest.approx(1e-13 / 1e-12)


@pytest.mark.parametrize("name", ["weight_hh_l0", "bias_ih_l0_reverse", "weight_ih_l1"])
def test_check_layer_grads_catches_a_wrong_gradient(name):
    """The tool must be able to fail: corrupt one analytic gradient and it is reported."""
    layer = companion.GRU(2, 3, num_layers=2, bidirectional=True, seed=4)
    x = np.random.default_rng(4).normal(size=(3, 2, 2))
    real_backward = layer.backward

    def corrupted(*a, **k):
        out = real_backward(*a, **k)
        layer.grads[name] = layer.grads[name] * 1.01
        return out

    layer.backward = corrupted
    errors = check_layer_grads(layer, x)
    assert errors[name] > 1e-3
    assert all(v < 1e-6 for k, v in errors.items() if k != name)


def test_check_layer_grads_lstm_keys_and_values():
    layer = companion.LSTM(2, 2, seed=5)
    errors = check_layer_grads(layer, np.random.default_rng(5).normal(size=(3, 2)))   # unbatched
    assert set(errors) == set(layer.params) | {"x", "state0", "state1"}
    assert max(errors.values()) < 1e-6


# --------------------------------------------------------------------------- import boundary

def test_import_companion_imports_neither_torch_nor_matplotlib():
    code = ("import sys, companion, companion.cells, companion.layers, companion.head, companion.gradcheck, "
            "companion.interop, companion.activations, companion.validation; "
            "bad = [m for m in ('torch', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad; "
            "l = companion.LSTM(2, 3, seed=0); l(__import__('numpy').zeros((2, 1, 2))); "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_interop_imports_torch_lazily():
    code = ("import sys, companion; assert 'torch' not in sys.modules; "
            "l = companion.RNN(2, 3, seed=0); m = l.to_torch(); assert 'torch' in sys.modules; "
            "assert 'matplotlib' not in sys.modules; print(type(m).__name__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "RNN", r.stderr


def _imports_inside_functions(tree):
    """(lineno, statement) of every import inside a function body of a parsed module."""
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize("module", ["layers", "interop"])
def test_layers_and_interop_import_nothing_lazily_but_torch(module):
    """interop imports layers at module level and layers never imports interop, so neither
    imports the other inside a function (no import cycle to hide); torch alone is imported
    when a conversion runs, as ``import companion`` must not load it (tested above)."""
    path = Path(companion.__file__).parent / f"{module}.py"
    tree = ast.parse(path.read_text())
    lazy = [(n, stmt) for n, stmt in _imports_inside_functions(tree) if stmt != "import torch"]
    assert not lazy, f"{module}.py imports inside functions: {lazy}"
    top = {node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1}
    if module == "interop":
        assert "layers" in top
    else:
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
        assert "interop" not in imported


def test_to_torch_function_and_method_agree_and_refuse_alike():
    layer = companion.LSTM(2, 3, num_layers=2, bidirectional=True, seed=0)
    a, b = companion.to_torch(layer), layer.to_torch()
    assert type(a) is type(b) is torch.nn.LSTM
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb and torch.equal(pa, pb)
    for bad, msg in ((companion.LSTM(2, 3, peephole="full"),
                      r"layer: torch.nn.LSTM has no peepholes \(peephole='full'\)"),
                     (companion.GRU(2, 3, variant="lecture"),
                      r"layer: torch.nn.GRU computes variant='torch' only, got variant='lecture'")):
        for convert in (companion.to_torch, lambda layer: layer.to_torch()):
            with pytest.raises(ValueError, match=msg):
                convert(bad)
    with pytest.raises(ValueError, match=r"layer: expected a companion RNN, LSTM or GRU, got Linear"):
        companion.to_torch(torch.nn.Linear(2, 3))


def test_public_api():
    for name in companion.__all__:
        assert hasattr(companion, name), name
    assert {"RNN", "LSTM", "GRU", "OutputHead", "from_torch", "to_torch", "numerical_grad",
            "check_layer_grads"} <= set(companion.__all__)
