"""companion.checks.bptt: each slip is named (wrong answers written here by hand). What every check
must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion import softmax
from companion.checks import bptt as C

from check_helpers import hint_of

# correct answers, from the registry; a wrong answer below that changes one of them is built on
# these, never on the module's slip generators
output_grad_right = C.CHECKS["check_output_grad"].solution
backward_right = C.CHECKS["check_rnn_backward_step"].solution


@pytest.mark.parametrize("wrong, hint", [
    (lambda o, y: -output_grad_right(o, y), "sign is flipped"),
    (lambda o, y: o - np.eye(o.shape[-1])[np.asarray(y)], "apply the softmax first"),
    (lambda o, y: softmax(o), "subtract the one-hot"),
    (lambda o, y: -np.eye(o.shape[-1])[np.asarray(y)], "y_hat is missing"),
])
def test_output_grad_slips(wrong, hint):
    assert hint in hint_of(C.check_output_grad(wrong))


@pytest.mark.parametrize("wrong, hint", [
    (lambda dh, h, W: (dh * (1 - h ** 2), (dh * (1 - h ** 2)) @ W.T), "not da_t @ W.T"),
    (lambda dh, h, W: (dh, dh @ W), "tanh derivative is missing"),
    (lambda dh, h, W: (dh * (1 - h), (dh * (1 - h)) @ W), "not 1 - h(t)"),
    (lambda dh, h, W: (dh * h * (1 - h), (dh * h * (1 - h)) @ W), "sigmoid's derivative"),
    (lambda dh, h, W: (dh * (1 - h ** 2), dh @ W), "must pass through the tanh"),
])
def test_backward_slips(wrong, hint):
    fb = C.check_rnn_backward_step(wrong)
    assert hint in hint_of(fb)
    assert "[" in str(fb)          # which output, and where


def test_backward_sees_only_dh_h_and_W():
    """The student's function gets (dh_t, h_t, W); the step's x, h_prev, U, b stay with the reference."""
    seen = []
    assert C.check_rnn_backward_step(lambda *a: seen.append(len(a)) or backward_right(*a))
    assert seen and set(seen) == {3}


def test_wrong_form_is_reported():
    fb = C.check_rnn_backward_step(lambda dh, h, W: dh * (1 - h ** 2))
    assert not fb and "expected a tuple (da_t, dh_prev)" in str(fb)


# --------------------------------------------------------------------------- output_grad: what it refuses

def test_output_grad_refuses_companions_head_and_torch():
    """OutputHead.loss returns dL/do (refused, the method swapped on its class for the call); torch's
    autograd refused too; both restored afterwards."""
    import torch

    from companion import OutputHead

    def via_head(o, y):
        K = o.shape[-1]
        return OutputHead(1, K).loss(o.reshape(1, -1, K), np.asarray(y).reshape(1, -1))[1].reshape(o.shape)

    def via_torch(o, y):
        t = torch.tensor(o, requires_grad=True)
        torch.nn.functional.cross_entropy(t.reshape(-1, o.shape[-1]), torch.tensor(np.asarray(y)).reshape(-1),
                                          reduction="sum").backward()
        return t.grad.numpy()

    for answer, name in ((via_head, "companion.OutputHead.loss"), (via_torch, "torch.autograd.backward")):
        fb = C.check_output_grad(answer, seed=0)
        assert not fb and f"calls {name}, which already does this exercise's job" in str(fb), str(fb)
    head = OutputHead(1, 3)
    assert np.allclose(head.loss(np.zeros((1, 1, 3)), np.zeros((1, 1), int))[1], [[[-2 / 3, 1 / 3, 1 / 3]]])
    assert C.check_output_grad(output_grad_right, hidden=True)


def test_output_grad_hidden_cases_are_larger():
    sizes = {False: set(), True: set()}
    for hidden in sizes:
        C.check_output_grad(lambda o, y, s=sizes[hidden]: s.add(o.shape[-1]) or output_grad_right(o, y),
                            seed=0, hidden=hidden)
    assert max(sizes[False]) < min(sizes[True])


def test_backward_step_refuses_companion_and_autograd():
    import torch

    from companion import cells

    def via_companion(dh, h, W):
        step = cells.RNNStep(np.arctanh(h), h, None, None)
        g = cells.rnn_step_backward(dh, np.zeros(h.shape[:-1] + (1,)), np.zeros_like(h), step,
                                    np.zeros((h.shape[-1], 1)), W)
        return g["db"], g["dh_prev"]

    def via_autograd(dh, h, W):
        a = torch.tensor(np.arctanh(h), requires_grad=True)
        (torch.tanh(a) * torch.tensor(dh)).sum().backward()
        return a.grad.numpy(), a.grad.numpy() @ W

    for answer, name in ((via_companion, "rnn_step_backward"), (via_autograd, "torch.autograd.backward")):
        fb = C.check_rnn_backward_step(answer, seed=0)
        assert not fb and name in str(fb) and "already does this exercise's job" in str(fb), str(fb)


# --------------------------------------------------------------------------- full BPTT

bptt_right = C.CHECKS["check_rnn_bptt"].solution


def _bptt_by_hand(x, y, h0, U, W, b, V, c, mistake=None):
    """Full BPTT over a batch, rows, written out again here; ``mistake`` makes one slip."""
    T, B, _ = x.shape
    hs = [np.zeros_like(h0) if mistake == "h0 zero" else h0]
    for t in range(T):
        hs.append(np.tanh(b + hs[-1] @ W.T + x[t] @ U.T))
    dU, dW, db, dV, dc = (np.zeros_like(p) for p in (U, W, b, V, c))
    da_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        o = hs[t + 1] @ V.T + c
        p = np.exp(o - o.max(-1, keepdims=True))
        do = p / p.sum(-1, keepdims=True) - np.eye(V.shape[0])[y[t]]
        if mistake == "sign":
            do = -do
        if mistake == "mean":
            do = do / B
        if mistake == "no carry":
            dh = do @ V
        elif mistake == "carry W.T":
            dh = do @ V + da_next @ W.T
        else:
            dh = do @ V + da_next @ W
        if mistake == "no tanh'":
            da = dh
        elif mistake == "sigmoid'":
            da = dh * hs[t + 1] * (1 - hs[t + 1])
        else:
            da = dh * (1 - hs[t + 1] ** 2)
        state = hs[t + 1] if mistake == "W with h(t)" else hs[t]
        terms = (da.T @ x[t], da.T @ state, da.sum(0), do.T @ hs[t + 1], do.sum(0))
        if mistake == "overwrite":
            dU, dW, db, dV, dc = terms
        elif mistake == "last only":
            if t == T - 1:
                dU, dW, db, dV, dc = terms
        else:
            dU, dW, db, dV, dc = (g + d for g, d in zip((dU, dW, db, dV, dc), terms, strict=True))
        da_next = da
    dh0 = da_next if mistake == "dh0 = da(1)" else da_next @ W
    if mistake == "dW.T":
        dW = dW.T
    if mistake == "dU.T":
        dU = dU.T
    return dU, dW, db, dV, dc, dh0


def test_bptt_by_hand_is_right():
    assert C.check_rnn_bptt(_bptt_by_hand, seed=0)
    assert C.check_rnn_bptt(_bptt_by_hand, seed=0, hidden=True)


@pytest.mark.parametrize("mistake, hint", [
    ("no carry", "carry dL/da(t+1) from t = T down to 1"),
    ("carry W.T", "is da_next @ W, not da_next @ W.T"),
    ("no tanh'", "the tanh derivative is missing"),
    ("sigmoid'", "sigmoid's derivative"),
    ("W with h(t)", "h(t-1), the state that entered step t, not h(t)"),
    ("last only", "not the last step's only"),
    ("overwrite", "keeps only the term of step t = 1"),
    ("mean", "do not divide by B"),
    ("sign", "not onehot(y(t)) - y_hat(t)"),
    ("h0 zero", "from the given h0, not from zeros"),
    ("dh0 = da(1)", "one more step back through W"),
    ("dW.T", "not the transpose"),
    ("dU.T", "not the transpose"),
])
def test_bptt_slips_are_named(mistake, hint):
    for hidden in (False, True):
        fb = C.check_rnn_bptt(lambda *a: _bptt_by_hand(*a, mistake=mistake), seed=1, hidden=hidden)
        assert hint in hint_of(fb), str(fb)


def test_bptt_reference_agrees_with_finite_differences_companion_and_torch():
    """The reference (analytic) equals finite differences (numerical_bptt), companion's BPTT (RNN.backward, OutputHead)
    gives the same numbers, and so does torch's autograd."""
    import torch

    from companion import RNN, OutputHead
    from companion.checks import core

    rng = np.random.default_rng(3)
    cases = []
    for hidden in (False, True):                       # the visible sizes and the hidden (larger) ones
        token = core._HIDDEN.set(hidden)
        cases += [C._bptt_case(rng, 3).args for _ in range(2)]
        core._HIDDEN.reset(token)
    for x, y, h0, U, W, b, V, c in cases:
        ref = C.reference_bptt(x, y, h0, U, W, b, V, c)
        numerical = C.numerical_bptt(x, y, h0, U, W, b, V, c)
        assert all(np.allclose(ref[k], numerical[k], rtol=1e-7, atol=1e-9) for k in ref)
        T, B, D = x.shape
        H, K = W.shape[0], V.shape[0]
        rnn, head = RNN(D, H), OutputHead(H, K)
        rnn.params.update(weight_ih_l0=U.copy(), weight_hh_l0=W.copy(), bias_ih_l0=b.copy(), bias_hh_l0=0 * b)
        head.params.update(V=V.copy(), c=c.copy())
        out, _ = rnn(x, h0[None])
        o, _ = head(out)
        _, d_o = head.loss(o, y)                     # averaged over the batch: times B for the sum
        _, dh0 = rnn.backward(head.backward(d_o * B))
        got = {"dU": rnn.grads["weight_ih_l0"], "dW": rnn.grads["weight_hh_l0"], "db": rnn.grads["bias_ih_l0"],
               "dV": head.grads["V"], "dc": head.grads["c"], "dh0": dh0[0]}
        for k, v in got.items():                     # ten times tighter than the check compares
            assert np.allclose(ref[k], v, rtol=1e-7, atol=1e-9), k
        ts = {k: torch.tensor(v, requires_grad=True) for k, v in dict(U=U, W=W, b=b, V=V, c=c, h0=h0).items()}
        h, L = ts["h0"], 0
        for t in range(T):
            h = torch.tanh(ts["b"] + h @ ts["W"].T + torch.tensor(x[t]) @ ts["U"].T)
            L = L + torch.nn.functional.cross_entropy(h @ ts["V"].T + ts["c"], torch.tensor(y[t]), reduction="sum")
        L.backward()
        for k, v in ts.items():
            assert np.allclose(ref["d" + k], v.grad.numpy(), rtol=1e-7, atol=1e-9), k


def test_bptt_cases_use_random_sizes_and_hidden_ones_are_larger():
    seen = {False: [], True: []}
    for hidden in seen:
        for seed in range(3):
            C.check_rnn_bptt(lambda *a, s=seen[hidden]: s.append((a[0].shape, a[6].shape)) or bptt_right(*a),
                             seed=seed, hidden=hidden)
    def dims(calls):                                                            # (T, D, K, H) of each call
        return [(x[0], x[2], v[0], v[1]) for x, v in calls]

    assert len(set(dims(seen[False]))) > 3
    assert all(T < 6 and max(D, K, H) < 5 for T, D, K, H in dims(seen[False]))
    assert all(T >= 6 and min(D, K, H) >= 5 for T, D, K, H in dims(seen[True]))
    assert 1 in {x[1] for x, _ in seen[False]} and max(x[1] for x, _ in seen[False]) > 1    # B = 1 and more


def _student(src):
    """A notebook's namespace: ``src`` run in fresh globals, as a student's cells would be."""
    ns = {"__name__": "__main__"}
    exec(src, ns)
    return ns


@pytest.mark.parametrize("body, name", [
    # companion's layer and head, built in the answer
    ("rnn, head = companion.RNN(D, H), companion.OutputHead(H, K)\n"
     "    rnn.params.update(weight_ih_l0=U, weight_hh_l0=W, bias_ih_l0=b, bias_hh_l0=0 * b)\n"
     "    out, _ = rnn(x, h0[None])\n"
     "    rnn.backward(np.ones_like(out))\n", "companion.RNN.backward"),
    ("head = companion.OutputHead(H, K)\n"
     "    head.params.update(V=V, c=c)\n"
     "    o, _ = head(np.zeros((T, B, H)))\n"
     "    head.backward(o)\n", "companion.OutputHead.backward"),
    ("companion.numpy_training.forward_backward(None, None, x, y)\n", "forward_backward"),
    ("truncated_bptt(None, None, x, y, k=1)\n", "truncated_bptt"),
    ("companion.numerical_grad(lambda: 0.0, U)\n", "numerical_grad"),
    ("from companion.checks.bptt import reference_bptt\n    reference_bptt(x, y, h0, U, W, b, V, c)\n",
     "reference_bptt"),
    ("Ut = torch.tensor(U, requires_grad=True)\n    (Ut ** 2).sum().backward()\n", "torch.autograd.backward"),
    ("Ut = torch.tensor(U, requires_grad=True)\n    torch.autograd.grad((Ut ** 2).sum(), Ut)\n",
     "torch.autograd.grad"),
])
def test_bptt_refuses_every_backward_that_exists(body, name):
    ns = _student("import numpy as np, torch, companion, companion.numpy_training\n"
                  "from companion.bptt import truncated_bptt\n"
                  "def rnn_bptt(x, y, h0, U, W, b, V, c):\n"
                  "    T, B, D = x.shape\n    H, K = W.shape[0], V.shape[0]\n"
                  f"    {body}"
                  "    return tuple(np.zeros_like(p) for p in (U, W, b, V, c, h0))\n")
    for hidden in (False, True):
        fb = C.check_rnn_bptt(ns["rnn_bptt"], seed=0, hidden=hidden)
        assert not fb and name in str(fb) and "already does this exercise's job" in str(fb), str(fb)


def test_a_layer_in_the_notebook_is_refused_and_restored():
    """A companion.RNN made in an earlier cell (as chapter 02 has one) cannot run the backward
    either, also when the hidden tests have imported companion afresh; afterwards it works again."""
    import sys
    ns = _student("import numpy as np\nfrom companion import RNN\nrnn = RNN(2, 3)\n"
                  "def rnn_bptt(x, y, h0, U, W, b, V, c):\n"
                  "    rnn(np.ones((2, 2)))\n    rnn.backward(np.ones((2, 3)))\n"
                  "    return tuple(np.zeros_like(p) for p in (U, W, b, V, c, h0))\n")
    fb = C.check_rnn_bptt(ns["rnn_bptt"], seed=0)
    assert "companion.RNN.backward" in str(fb), str(fb)
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "companion"}
    try:
        for k in list(saved):
            del sys.modules[k]
        from companion.checks.bptt import check_rnn_bptt as fresh_check  # the hidden tests' import
        assert fresh_check is not C.check_rnn_bptt
        fb = fresh_check(ns["rnn_bptt"], seed=0, hidden=True)
        assert not fb and "companion.RNN.backward" in str(fb), str(fb)
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] == "companion"]:
            del sys.modules[k]
        sys.modules.update(saved)
    rnn = ns["rnn"]
    rnn(np.ones((2, 2)))
    d_x, _ = rnn.backward(np.ones((2, 3)))                # restored: the layer's backward runs again
    assert d_x.shape == (2, 2)


def test_bptt_wrong_form_is_reported():
    fb = C.check_rnn_bptt(lambda *a: bptt_right(*a)[:5], seed=0)
    assert not fb and "expected a tuple (dU, dW, db, dV, dc, dh0)" in str(fb)


# --------------------------------------------------------------------------- transfer: the leaky step

leaky_right = C.CHECKS["check_leaky_backward_step"].solution


def _g(x, hp, U, W, b):
    return np.tanh(b + hp @ W.T + x @ U.T)


@pytest.mark.parametrize("wrong, hint", [
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, da @ W))(dh * (1 - _g(x, hp, U, W, b) ** 2)),
     "vanilla step's backward"),
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, da @ W))(al * dh * (1 - _g(x, hp, U, W, b) ** 2)),
     "along two paths"),
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, al * dh + da @ W))(al * dh * (1 - _g(x, hp, U, W, b) ** 2)),
     "(1 - alpha) of h(t-1) in h(t), not alpha"),
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, (1 - al) * dh + da @ W))(dh * (1 - _g(x, hp, U, W, b) ** 2)),
     "enters h(t) times alpha"),
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, (1 - al) * dh + da @ W))(
        al * dh * (1 - ((1 - al) * hp + al * _g(x, hp, U, W, b)) ** 2)), "not 1 - h(t)^2"),
    (lambda dh, x, hp, U, W, b, al: (al * dh, (1 - al) * dh + al * dh @ W), "the tanh derivative is missing"),
    (lambda dh, x, hp, U, W, b, al: (lambda da: (da, (1 - al) * dh + da @ W.T))(
        al * dh * (1 - _g(x, hp, U, W, b) ** 2)), "not da_t @ W.T"),
])
def test_leaky_slips_are_named(wrong, hint):
    for hidden in (False, True):
        assert hint in hint_of(C.check_leaky_backward_step(wrong, seed=2, hidden=hidden))


def test_leaky_reference_agrees_with_finite_differences():
    """The check's own answer is what central differences of the leaky step give."""
    rng = np.random.default_rng(0)
    for B in (None, 3):
        dh, x, hp, U, W, b, alpha = C._leaky_case(rng, B).args
        ref = C.reference_leaky_step_backward(dh, x, hp, U, W, b, alpha)
        # L = sum(dh * h(t)) has dL/dh(t) = dh; dL/da(t) through a bump of a(t)
        def L(hp_, bump, dh=dh, x=x, U=U, W=W, b=b, alpha=alpha):
            return np.sum(dh * ((1 - alpha) * hp_ + alpha * np.tanh(b + hp_ @ W.T + x @ U.T + bump)))
        eps = 1e-6
        num_h, num_a = np.zeros_like(hp), np.zeros_like(hp)
        for i in np.ndindex(hp.shape):
            e = np.zeros_like(hp)
            e[i] = eps
            num_h[i] = (L(hp + e, 0.0) - L(hp - e, 0.0)) / (2 * eps)
            num_a[i] = (L(hp, e) - L(hp, -e)) / (2 * eps)
        assert np.allclose(ref["dh_prev"], num_h, atol=1e-7) and np.allclose(ref["da_t"], num_a, atol=1e-7)


def test_leaky_with_alpha_one_is_the_vanilla_step():
    rng = np.random.default_rng(1)
    dh, x, hp, U, W, b, _ = C._leaky_case(rng, 2).args
    da, dh_prev = leaky_right(dh, x, hp, U, W, b, 1.0)
    assert np.allclose((da, dh_prev), backward_right(dh, _g(x, hp, U, W, b), W))


def test_leaky_refuses_autograd():
    import torch

    def via_autograd(dh, x, hp, U, W, b, alpha):
        hp_t = torch.tensor(hp, requires_grad=True)
        a = torch.tensor(b) + hp_t @ torch.tensor(W).T + torch.tensor(x) @ torch.tensor(U).T
        da, dh_prev = torch.autograd.grad((torch.tensor(dh) * ((1 - alpha) * hp_t + alpha * torch.tanh(a))).sum(),
                                          (a, hp_t))
        return da.numpy(), dh_prev.numpy()

    fb = C.check_leaky_backward_step(via_autograd, seed=0)
    assert not fb and "torch.autograd.grad" in str(fb), str(fb)


def test_a_method_held_under_another_name_is_refused():
    ns = _student("import numpy as np\nimport companion\nbw = companion.RNN.backward\n"
                  "def rnn_bptt(x, y, h0, U, W, b, V, c):\n"
                  "    rnn = companion.RNN(x.shape[2], W.shape[0])\n    rnn(x)\n"
                  "    bw(rnn, np.ones((x.shape[0], x.shape[1], W.shape[0])))\n"
                  "    return tuple(np.zeros_like(p) for p in (U, W, b, V, c, h0))\n")
    fb = C.check_rnn_bptt(ns["rnn_bptt"], seed=0)
    assert not fb and "_Recurrent.backward" in str(fb) and "already does this exercise's job" in str(fb), str(fb)
