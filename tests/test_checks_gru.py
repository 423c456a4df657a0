"""companion.checks.gru: each named slip is recognised (wrong answers written here by hand), and the
checks' references are torch's conventions. What every check must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion import GRU, sigmoid
from companion.checks import gru as G

from check_helpers import hint_of


def gru_step(x, h, w, *, z_weights_old=False, reset_after=False):
    """One GRU step by hand: the slides' form, or with z's role swapped and/or r applied after W_hh."""
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    recurrent = r * (h @ w["W_hh"].T + w["b_hh"]) if reset_after else (r * h) @ w["W_hh"].T + w["b_hh"]
    h_tilde = np.tanh(x @ w["W_xh"].T + w["b_xh"] + recurrent)
    return z * h + (1 - z) * h_tilde if z_weights_old else (1 - z) * h + z * h_tilde


def test_gru_step_by_hand_is_right():
    assert G.check_gru_step(gru_step)


@pytest.mark.parametrize("kw, hint", [
    (dict(z_weights_old=True), "z_t and 1 - z_t swapped"),
    (dict(reset_after=True), "reset gate is applied after the product"),
    (dict(z_weights_old=True, reset_after=True), "torch.nn.GRU's form"),
])
def test_gru_step_conventions_are_told_apart(kw, hint):
    assert hint in hint_of(G.check_gru_step(lambda *a: gru_step(*a, **kw)))


def _rows(params, rows, kinds=("weight", "bias"), how=lambda a: -a, only_l0=False):
    out = {k: v.copy() for k, v in params.items()}
    H = params["weight_hh_l0"].shape[1]
    for k in out:
        if k.startswith(kinds) and (not only_l0 or k.endswith("_l0")):
            out[k][rows(H)] = how(out[k][rows(H)])
    return out


@pytest.mark.parametrize("wrong, hint", [
    (lambda p: _rows(p, lambda H: slice(0, H)), "negated the first block"),
    (lambda p: _rows(p, lambda H: slice(2 * H, 3 * H)), "negated the third block"),
    (lambda p: _rows(p, lambda H: slice(H, 2 * H), kinds=("weight",)), "only the weights are negated"),
    (lambda p: _rows(p, lambda H: slice(H, 2 * H), kinds=("bias",)), "only the biases are negated"),
    (lambda p: _rows(p, lambda H: slice(H, 2 * H), how=lambda a: 1 - a), "1 - W is not -W"),
    (lambda p: {k: -v for k, v in p.items()}, "negated every block"),
    (lambda p: _rows(p, lambda H: slice(H, 2 * H), only_l0=True), "every layer and direction"),
])
def test_to_lecture_z_slips_are_named(wrong, hint):
    assert hint in hint_of(G.check_to_lecture_z(wrong))


def test_to_lecture_z_result_must_be_a_complete_dict():
    fb = G.check_to_lecture_z(lambda p: list(p.values()))
    assert not fb and "dict" in str(fb)
    fb = G.check_to_lecture_z(lambda p: {"weight_ih_l0": p["weight_ih_l0"]})
    assert not fb and "bias_hh_l0" in str(fb) and "return every parameter" in str(fb)


def test_to_lecture_z_in_place_answer_passes():
    """Changing the given dict in place and returning it is fine (the check passes copies)."""
    def in_place(p):
        H = p["weight_hh_l0"].shape[1]
        for v in p.values():
            v[H:2 * H] *= -1
        return p
    assert G.check_to_lecture_z(in_place)


def test_to_lecture_z_right_answer_really_maps_torch_to_the_slides():
    """The right answer's parameters, in the lecture GRU with r saturated at 1, give torch's GRU."""
    rng = np.random.default_rng(0)
    D, H = 3, 4
    torch_gru = GRU(D, H, seed=1, variant="torch")
    torch_gru.params["bias_ih_l0"][:H] = 50.0           # r = 1: the place of r no longer matters
    lecture = GRU(D, H, seed=2, variant="lecture")
    lecture.params = G.CHECKS["check_to_lecture_z"].solution(torch_gru.params)
    x = rng.standard_normal((5, 2, D))
    np.testing.assert_allclose(lecture(x)[0], torch_gru(x)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("wrong, hint", [
    (lambda hp, ht, h: 1 - (h - hp) / (ht - hp), "you returned 1 - z_t"),
    (lambda hp, ht, h: (h - hp) / ht, "measure both distances from h_{t-1}"),
    (lambda hp, ht, h: (hp - h) / (ht - hp), "opposite sign"),
])
def test_update_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(G.check_update_gate_from_states(wrong))


def _count(D, H, L=1, bi=False, gates=3, biases=2, upper=None):
    nd = 2 if bi else 1
    return sum(nd * gates * (H * (D if k == 0 else (upper(D, H, nd) if upper else nd * H)) + H * H + biases * H)
               for k in range(L))


@pytest.mark.parametrize("wrong, hint", [
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, biases=1), "one bias per gate"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, gates=4), "the LSTM's count"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, gates=1), "the vanilla RNN's count"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, upper=lambda D, H, nd: D), "layers above the first"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, upper=lambda D, H, nd: H), "output has size 2H"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, False), "doubles every layer"),
    (lambda D, H, L=1, bi=False: _count(D, H, L, bi, biases=0), "bias terms are missing"),
])
def test_num_parameters_slips_are_named(wrong, hint):
    assert hint in hint_of(G.check_gru_num_parameters(wrong))


def test_num_parameters_reference_is_torch_count():
    torch = pytest.importorskip("torch")
    gru_num_parameters = G.CHECKS["check_gru_num_parameters"].solution
    for D, H, L, bi in [(3, 5, 1, False), (4, 2, 2, True), (7, 3, 3, False)]:
        m = torch.nn.GRU(D, H, num_layers=L, bidirectional=bi)
        assert gru_num_parameters(D, H, L, bi) == sum(p.numel() for p in m.parameters())
