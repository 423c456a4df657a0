"""companion.checks.gru: each named slip is recognised (wrong answers written here by hand), the checks'
references are torch's conventions (and, for the backward, finite differences), and an answer that
calls what already does the job is refused. What every check must do is in tests/test_checks.py and
tests/test_exercises.py."""
import numpy as np
import pytest

import companion
from companion import GRU, cells, sigmoid
from companion.checks import gru as G

from check_helpers import hint_of

REFUSED = "already does this exercise's job"


def gru_step(x, h, w, *, z_weights_old=False, reset_after=False):
    """One GRU step by hand: the slides' form, or with z's role swapped and/or r applied after W_hh."""
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    recurrent = r * (h @ w["W_hh"].T + w["b_hh"]) if reset_after else (r * h) @ w["W_hh"].T + w["b_hh"]
    h_tilde = np.tanh(x @ w["W_xh"].T + w["b_xh"] + recurrent)
    return z * h + (1 - z) * h_tilde if z_weights_old else (1 - z) * h + z * h_tilde


def _refused(fb, name):
    assert not fb and REFUSED in str(fb) and name in str(fb), str(fb)


# --------------------------------------------------------------------------- the slides' step

def test_gru_step_by_hand_is_right():
    assert G.check_gru_step(gru_step)
    assert G.check_gru_step(gru_step, hidden=True)


@pytest.mark.parametrize("kw, hint", [
    (dict(z_weights_old=True), "z_t and 1 - z_t swapped"),
    (dict(reset_after=True), "reset gate is applied after the product"),
    (dict(z_weights_old=True, reset_after=True), "torch.nn.GRU's form"),
])
def test_gru_step_conventions_are_told_apart(kw, hint):
    assert hint in hint_of(G.check_gru_step(lambda *a: gru_step(*a, **kw)))


def test_gru_step_refuses_companion_step_and_layer():
    _refused(G.check_gru_step(lambda x, h, w: companion.gru_step(x, h, w).h_t), "gru_step")
    _refused(G.check_gru_step(lambda x, h, w: cells._gru_step(x, h, w).h_t), "_gru_step")

    def through_the_layer(x, h, w):      # the layer of the slides' form, given the cell's weights
        H, D = w["W_xz"].shape
        layer = GRU(D, H, variant="lecture")
        layer.params = {"weight_ih_l0": np.concatenate([w["W_xr"], w["W_xz"], w["W_xh"]]),
                        "weight_hh_l0": np.concatenate([w["W_hr"], w["W_hz"], w["W_hh"]]),
                        "bias_ih_l0": np.concatenate([w["b_r"], w["b_z"], w["b_xh"]]),
                        "bias_hh_l0": np.concatenate([0 * w["b_r"], 0 * w["b_z"], w["b_hh"]])}
        out, _ = layer(x[None] if x.ndim == 2 else x[None, None])
        return out[0] if x.ndim == 2 else out[0, 0]
    _refused(G.check_gru_step(through_the_layer), "GRU")


# --------------------------------------------------------------------------- the update gate

@pytest.mark.parametrize("wrong, hint", [
    (lambda hp, ht, h: 1 - (h - hp) / (ht - hp), "you returned 1 - z_t"),
    (lambda hp, ht, h: (h - hp) / ht, "measure both distances from h_{t-1}"),
    (lambda hp, ht, h: (hp - h) / (ht - hp), "opposite sign"),
])
def test_update_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(G.check_update_gate_from_states(wrong))


def test_update_gate_refuses_the_checks_own_answer():
    from companion.checks.gru import reference_update_gate_from_states as answer
    _refused(G.check_update_gate_from_states(lambda *a: answer(*a)), "reference_update_gate_from_states")


# --------------------------------------------------------------------------- torch.nn.GRU's step

def torch_step(x, h, p, *, order="rzn", reset_before=False, b_hn_outside=False, old_weight="z"):
    """torch.nn.GRU's step by hand, with one slip at a time."""
    H = p["weight_hh_l0"].shape[1]
    blocks = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(order)}
    W_i, W_h, b_i, b_h = ({g: p[name][blocks[g]] for g in "rzn"}
                          for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
    r = sigmoid(x @ W_i["r"].T + b_i["r"] + h @ W_h["r"].T + b_h["r"])
    z = sigmoid(x @ W_i["z"].T + b_i["z"] + h @ W_h["z"].T + b_h["z"])
    if reset_before:
        rec = (r * h) @ W_h["n"].T + b_h["n"]
    elif b_hn_outside:
        rec = r * (h @ W_h["n"].T) + b_h["n"]
    else:
        rec = r * (h @ W_h["n"].T + b_h["n"])
    n = np.tanh(x @ W_i["n"].T + b_i["n"] + rec)
    return z * h + (1 - z) * n if old_weight == "z" else (1 - z) * h + z * n


def test_torch_step_by_hand_is_right():
    assert G.check_torch_gru_step(torch_step)
    assert G.check_torch_gru_step(torch_step, hidden=True)


@pytest.mark.parametrize("kw, hint", [
    (dict(old_weight="1-z"), "torch's z_t weights the OLD state"),
    (dict(reset_before=True), "torch applies the reset after the product"),
    (dict(reset_before=True, old_weight="1-z"), "that is the slides' GRU"),
    (dict(b_hn_outside=True), "b_hn sits inside the reset"),
    (dict(order="zrn"), "order r, z, n"),
])
def test_torch_step_slips_are_named(kw, hint):
    assert hint in hint_of(G.check_torch_gru_step(lambda *a: torch_step(*a, **kw)))


def test_torch_step_without_bias_hh_is_named():
    fb = G.check_torch_gru_step(lambda x, h, p: torch_step(x, h, dict(p, bias_hh_l0=0 * p["bias_hh_l0"])))
    assert "bias_hh_l0 is missing" in hint_of(fb)


def test_torch_step_reference_is_torch_nn_gru():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for B in (None, 3):
        x, h, p = G._torch_layer_case(rng, B).args
        D, H = x.shape[-1], h.shape[-1]
        m = torch.nn.GRU(D, H, dtype=torch.float64)
        with torch.no_grad():
            for name, v in p.items():
                getattr(m, name).copy_(torch.from_numpy(v))
            xt = torch.from_numpy(x.reshape(1, -1, D))
            out, _ = m(xt, torch.from_numpy(h.reshape(1, -1, H)))
        expected = out.numpy().reshape(h.shape)
        np.testing.assert_allclose(torch_step(x, h, p), expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(G.CHECKS["check_torch_gru_step"].solution(x, h, p), expected, rtol=0, atol=1e-12)


def test_torch_step_refuses_torch_gru_cell():
    torch = pytest.importorskip("torch")
    from torch.nn import GRUCell

    def with_the_cell(x, h, p):       # torch's own cell, holding the same parameters
        H, D = p["weight_hh_l0"].shape[1], p["weight_ih_l0"].shape[1]
        cell = GRUCell(D, H, dtype=torch.float64)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(torch.from_numpy(p[f"{name}_l0"]))
            return cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    _refused(G.check_torch_gru_step(with_the_cell), "GRUCell")


# --------------------------------------------------------------------------- the backward of one step

def backward(dh, x, h, w, *, old_weight="1-z", sigma_prime=True, tanh_prime=True, direct=True,
             via_z=True, via_r=True, via_rh=True):
    """dL/dh_{t-1} and dL/da_z of the slides' step, by hand, with one slip at a time."""
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    n = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
    keep, write = (1 - z, z) if old_weight == "1-z" else (z, 1 - z)
    dz = dh * (n - h) if old_weight == "1-z" else dh * (h - n)
    da_z = dz * z * (1 - z) if sigma_prime else dz
    da_n = dh * write * ((1 - n ** 2) if tanh_prime else 1)
    d_rh = da_n @ w["W_hh"]
    da_r = d_rh * h * (r * (1 - r) if sigma_prime else 1)
    dh_prev = direct * dh * keep + via_rh * d_rh * r + via_z * da_z @ w["W_hz"] + via_r * da_r @ w["W_hr"]
    return dh_prev, da_z


def test_backward_by_hand_is_right():
    assert G.check_gru_step_backward(backward)
    assert G.check_gru_step_backward(backward, hidden=True)


def test_backward_reference_is_the_finite_differences():
    """dL/dh_{t-1} and dL/db_z (= dL/da_z for one example) of L = sum(dh_t * h_t), by central differences."""
    rng = np.random.default_rng(3)
    for _ in range(3):
        dh, x, h, w = G._backward_case(rng, None).args
        def loss(h_, w_, dh=dh, x=x):
            return float((dh * gru_step(x, h_, w_)).sum())
        eps = 1e-6
        num_dh = np.array([(loss(h + eps * e, w) - loss(h - eps * e, w)) / (2 * eps) for e in np.eye(h.size)])
        num_da_z = np.array([(loss(h, dict(w, b_z=w["b_z"] + eps * e)) - loss(h, dict(w, b_z=w["b_z"] - eps * e)))
                             / (2 * eps) for e in np.eye(h.size)])
        ref = G._backward_ref(dh, x, h, w)
        np.testing.assert_allclose(ref["dh_prev"], num_dh, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ref["da_z"], num_da_z, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kw, hint", [
    (dict(old_weight="z"), "z_t and 1 - z_t swapped"),
    (dict(sigma_prime=False), "sigma' is missing"),
    (dict(tanh_prime=False), "tanh' is missing"),
    (dict(direct=False), "the direct term is missing"),
    (dict(via_r=False), "path through the reset gate"),
    (dict(via_z=False), "path through the update gate"),
    (dict(via_rh=False), "through r_t * h_{t-1}"),
])
def test_backward_slips_are_named(kw, hint):
    assert hint in hint_of(G.check_gru_step_backward(lambda *a: backward(*a, **kw)))


def test_backward_partial_slips_are_named():
    def no_sigma_prime_on_z(dh, x, h, w):
        dh_prev, da_z = backward(dh, x, h, w)
        z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
        return dh_prev, da_z / (z * (1 - z))
    assert "the update gate's sigmoid has a derivative too" in hint_of(G.check_gru_step_backward(no_sigma_prime_on_z))
    fb = G.check_gru_step_backward(lambda *a: (backward(*a)[0], -backward(*a)[1]))
    assert "your sign is the opposite" in hint_of(fb)

    def backward_with_transposes(dh, x, h, w):
        z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
        r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
        n = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
        da_z = dh * (n - h) * z * (1 - z)
        d_rh = (dh * z * (1 - n ** 2)) @ w["W_hh"].T
        da_r = d_rh * h * r * (1 - r)
        return dh * (1 - z) + d_rh * r + da_z @ w["W_hz"].T + da_r @ w["W_hr"].T, da_z
    assert "the gradient goes back through W^T" in hint_of(G.check_gru_step_backward(backward_with_transposes))


def test_backward_refuses_companion_autograd_and_finite_differences():
    _refused(G.check_gru_step_backward(G._copy_backward), "gru_step_backward")

    def by_finite_differences(dh, x, h, w):
        h = np.array(h, dtype=float)
        def loss():
            return float((dh * gru_step(x, h, w)).sum())
        return companion.numerical_grad(loss, h), None
    _refused(G.check_gru_step_backward(by_finite_differences), "numerical_grad")

    torch = pytest.importorskip("torch")

    def by_autograd(dh, x, h, w):
        ht = torch.tensor(h, requires_grad=True)
        wt = {k: torch.tensor(v) for k, v in w.items()}
        xt = torch.tensor(x)
        z = torch.sigmoid(xt @ wt["W_xz"].T + ht @ wt["W_hz"].T + wt["b_z"])
        r = torch.sigmoid(xt @ wt["W_xr"].T + ht @ wt["W_hr"].T + wt["b_r"])
        n = torch.tanh(xt @ wt["W_xh"].T + wt["b_xh"] + (r * ht) @ wt["W_hh"].T + wt["b_hh"])
        (((1 - z) * ht + z * n) * torch.tensor(dh)).sum().backward()
        return ht.grad.numpy(), None
    _refused(G.check_gru_step_backward(by_autograd), "autograd.backward")


# --------------------------------------------------------------------------- parameters of a GRU classifier

def count(D, H, K, L=1, bi=False, gates=3, biases=2, upper=None, head_in=None, head_bias=True):
    nd = 2 if bi else 1
    gru = sum(nd * gates * (H * (D if k == 0 else (upper(H, nd) if upper else nd * H)) + H * H + biases * H)
              for k in range(L))
    return gru + K * (nd * H if head_in is None else head_in(H, nd)) + head_bias * K


@pytest.mark.parametrize("kw, hint", [
    (dict(head_in=lambda H, nd: H), "of size 2H when bidirectional"),
    (dict(head_bias=False), "the head's bias c (K,) is missing"),
    (dict(head_in=lambda H, nd: 0, head_bias=False), "the classification head is missing"),
    (dict(biases=1), "one bias per gate"),
    (dict(gates=4), "the LSTM's count"),
    (dict(gates=1), "the vanilla RNN's count"),
    (dict(biases=0), "bias terms are missing"),
])
def test_classifier_count_slips_are_named(kw, hint):
    def wrong(D, H, K, L=1, bi=False):
        return count(D, H, K, L, bi, **kw)
    assert hint in hint_of(G.check_gru_classifier_num_parameters(wrong))


def test_classifier_count_stacking_slips_are_named():
    def upper_D(D, H, K, L=1, bi=False):       # every layer reads D
        nd = 2 if bi else 1
        return count(D, H, K, L, bi) + nd * 3 * H * (L - 1) * (D - nd * H)
    assert "layers above the first" in hint_of(G.check_gru_classifier_num_parameters(upper_D))
    assert "next layer's input weights are (3H, 2H)" in hint_of(G.check_gru_classifier_num_parameters(
        lambda D, H, K, L=1, bi=False: count(D, H, K, L, bi, upper=lambda H, nd: H)))
    def one_direction(D, H, K, L=1, bi=False):   # the head reads 2H, but one direction per layer
        return count(D, H, K, L, False, head_in=lambda H, nd: (2 if bi else 1) * H)
    assert "doubles every layer" in hint_of(G.check_gru_classifier_num_parameters(one_direction))
    assert "changes three things" in hint_of(G.check_gru_classifier_num_parameters(
        lambda D, H, K, L=1, bi=False: count(D, H, K, L, False)))


def test_classifier_count_is_torch_count_plus_the_head():
    torch = pytest.importorskip("torch")
    solution = G.CHECKS["check_gru_classifier_num_parameters"].solution
    for D, H, K, L, bi in [(3, 5, 2, 1, False), (4, 2, 7, 2, True), (7, 3, 4, 3, False), (5, 6, 3, 3, True)]:
        m = torch.nn.GRU(D, H, num_layers=L, bidirectional=bi)
        head = torch.nn.Linear((2 if bi else 1) * H, K)
        expected = sum(p.numel() for p in [*m.parameters(), *head.parameters()])
        assert solution(D, H, K, L, bi) == expected == G.reference_gru_classifier_num_parameters(D, H, K, L, bi)
        assert expected == GRU(D, H, num_layers=L, bidirectional=bi).num_parameters() + K * (2 if bi else 1) * H + K


def test_classifier_count_refuses_the_layer():
    def layer_count(D, H, K, num_layers=1, bidirectional=False):
        nd = 2 if bidirectional else 1
        return GRU(D, H, num_layers=num_layers, bidirectional=bidirectional).num_parameters() + K * nd * H + K
    _refused(G.check_gru_classifier_num_parameters(layer_count), "GRU")


def test_hidden_sizes_are_not_the_visible_ones():
    solution = G.CHECKS["check_gru_classifier_num_parameters"].solution
    seen = {False: set(), True: set()}
    for hidden in (False, True):
        def spy(D, H, K, L=1, bi=False, sizes=seen[hidden]):
            sizes.update((D, H, K))
            return solution(D, H, K, L, bi)
        for seed in range(3):
            assert G.check_gru_classifier_num_parameters(spy, seed=seed, hidden=hidden)
    assert seen[False] and seen[True] and not seen[False] & seen[True]
