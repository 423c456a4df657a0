"""companion.checks.bidirectional: the checks' own answers agree with companion's layers, each slip
is named (wrong answers written here by hand), and an answer that builds companion's layer to do
the job is refused. What every check must do is in tests/test_checks.py."""
import numpy as np
import pytest

import companion
from companion.checks import bidirectional as C
from companion.checks import core

from check_helpers import hint_of

REFUSED = "already does this exercise's job"


def _expect_hint(check, fn, hint):
    for hidden in (False, True):
        assert hint in hint_of(check(fn, hidden=hidden))


# --------------------------------------------------------------------------- the references

def test_the_count_is_torchs_plus_the_head():
    torch = pytest.importorskip("torch")
    D, H, K, L = 3, 5, 4, 3
    rnn = torch.nn.RNN(D, H, num_layers=L, bidirectional=True)
    n_torch = sum(p.numel() for p in rnn.parameters())
    head = companion.OutputHead(2 * H, K)
    assert C.deep_bidirectional_num_params(D, H, K, L) == n_torch + sum(p.size for p in head.params.values())


def test_the_pairs_are_the_deep_bidirectional_layer():
    rng = np.random.default_rng(0)
    bi = companion.RNN(3, 4, num_layers=3, bidirectional=True, seed=1)
    x = rng.normal(0, 1, (5, 2, 3))
    assert np.allclose(C.reference_deep_bidirectional_output(C._pairs(bi), x), bi(x)[0])


@pytest.mark.parametrize("hidden", [False, True])
def test_the_final_states_are_companions_h_n(hidden):
    """reference_final_states, read off the layers' outputs, is the h_n the layer returns."""
    rng = np.random.default_rng(0)
    token = core._HIDDEN.set(hidden)
    try:
        cases = [C._final_case(rng) for _ in range(5)]
    finally:
        core._HIDDEN.reset(token)
    for case in cases:
        (outs, H), (h_n,) = case.args, case.hidden
        assert h_n.shape[0] == 2 * len(outs)
        assert np.allclose(C.reference_final_states(outs, H), h_n)


def test_a_window_past_the_end_is_the_bidirectional_layer():
    rng = np.random.default_rng(0)
    bi = companion.RNN(3, 4, bidirectional=True, seed=2)
    fwd, bwd = C._pairs(bi)[0]
    x = rng.normal(0, 1, (6, 2, 3))
    assert np.allclose(C.reference_lookahead_output(fwd, bwd, x, 5), bi(x)[0])
    short = C.reference_lookahead_output(fwd, bwd, x, 1)
    assert np.allclose(short[..., :4], bi(x)[0][..., :4]) and not np.allclose(short, bi(x)[0])
    assert np.allclose(short[-2:], bi(x)[0][-2:])          # the last two steps see the end anyway


def test_the_student_sees_only_the_exercise_arguments():
    seen = []
    for name, n_args in [("check_deep_bidirectional_output", 2), ("check_final_states", 2),
                         ("check_lookahead_output", 4)]:
        ex = C.CHECKS[name]
        assert ex(lambda *a, ex=ex: seen.append(len(a)) or ex.solution(*a), seed=0)
        assert seen[-3:] == [n_args] * 3


def test_the_layers_grow_in_hidden_mode():
    for name in ("check_deep_bidirectional_output", "check_final_states"):
        ex, sizes = C.CHECKS[name], {False: [], True: []}
        for hidden in (False, True):
            for seed in range(3):
                def spy(first, second, seen=sizes[hidden], ex=ex):
                    seen.append(len(first))
                    return ex.solution(first, second)
                assert ex(spy, seed=seed, hidden=hidden)
        assert max(sizes[False]) < min(sizes[True])


# --------------------------------------------------------------------------- refused

def test_building_companions_layer_is_refused():
    ex = C.CHECKS["check_deep_bidirectional_output"]
    fb = ex(ex.copying, seed=0)
    assert not fb and REFUSED in str(fb) and "RNN" in str(fb), str(fb)
    fb = C.check_deep_bidirectional_num_params(
        lambda D, H, K, L: companion.RNN(D, H, num_layers=L, bidirectional=True).num_parameters() + 2 * H * K + K,
        seed=0)
    assert not fb and REFUSED in str(fb), str(fb)
    assert companion.RNN is companion.layers.RNN and isinstance(companion.RNN(2, 2), companion.layers.RNN)


def test_building_torchs_layer_is_refused():
    pytest.importorskip("torch")
    from torch.nn import RNN as TorchRNN

    def with_torch(D, H, K, L):
        return sum(p.numel() for p in TorchRNN(D, H, num_layers=L, bidirectional=True).parameters()) + 2 * H * K + K
    fb = C.check_deep_bidirectional_num_params(with_torch, seed=0)
    assert not fb and REFUSED in str(fb), str(fb)


# --------------------------------------------------------------------------- slips

def _count(D, H, K, L, first=None, upper=None, head=None):
    first = 2 * H * (D + H + 2) if first is None else first
    upper = 2 * H * (2 * H + H + 2) if upper is None else upper
    head = 2 * H * K + K if head is None else head
    return first + (L - 1) * upper + head


@pytest.mark.parametrize("fn, hint", [
    (lambda D, H, K, L: _count(D, H, K, L, upper=2 * H * (H + H + 2)), "(H, 2H), not (H, H)"),
    (lambda D, H, K, L: _count(D, H, K, L, upper=2 * H * (D + H + 2)), "only the first layer reads x"),
    (lambda D, H, K, L: _count(D, H, K, L, first=H * (D + H + 2), upper=H * (3 * H + 2)), "doubles every layer"),
    (lambda D, H, K, L: _count(D, H, K, L, head=H * K + K), "V is (K, 2H)"),
    (lambda D, H, K, L: _count(D, H, K, L, first=2 * H * (D + H + 1), upper=2 * H * (3 * H + 1)), "two bias"),
    (lambda D, H, K, L: _count(D, H, K, L, head=0), "head is missing"),
])
def test_count_slips_are_named(fn, hint):
    _expect_hint(C.check_deep_bidirectional_num_params, fn, hint)


def _deep(layer_output, last=True):
    def answer(layers, x):
        inp, outs = x, []
        for f, b in layers:
            inp = layer_output(f, b, inp)
            outs.append(inp)
        return outs[-1] if last else outs[0]
    return answer


@pytest.mark.parametrize("fn, hint", [
    (_deep(lambda f, b, v: np.concatenate([f(v)[0], b(v[::-1])[0]], -1)), "still in reversed time"),
    (_deep(lambda f, b, v: np.concatenate([f(v)[0], b(v)[0]], -1)), "REVERSED input"),
    (_deep(lambda f, b, v: np.concatenate([b(v[::-1])[0][::-1], f(v)[0]], -1)), "forward direction comes first"),
    (_deep(lambda f, b, v: np.concatenate([f(v)[0], b(v[::-1])[0][::-1]], -1), last=False), "LAST layer's"),
])
def test_deep_output_slips_are_named(fn, hint):
    _expect_hint(C.check_deep_bidirectional_output, fn, hint)


def _rows(f_t, b_t):
    return lambda outs, H: np.stack([r for o in outs for r in (o[f_t, :, :H], o[b_t, :, H:])])


@pytest.mark.parametrize("fn, hint", [
    (_rows(-1, -1), "backward direction ends at t = 1"),
    (_rows(0, 0), "forward direction ends at the last step"),
    (_rows(0, -1), "both ends swapped"),
    (lambda outs, H: np.stack([o[-1, :, :H] for o in outs] + [o[0, :, H:] for o in outs]), "layer by layer"),
    (lambda outs, H: np.stack([outs[-1][-1, :, :H], outs[-1][0, :, H:]]), "EVERY layer"),
    (lambda outs, H: np.stack([np.stack([o[-1, :, :H], o[0, :, H:]]) for o in outs]), "not (L, 2, B, H)"),
])
def test_final_state_slips_are_named(fn, hint):
    _expect_hint(C.check_final_states, fn, hint)


def _ahead(window, row=-1, swap=False):
    def answer(f, b, x, w):
        z = np.stack([b(window(x, t, w))[0][row] for t in range(len(x))])
        parts = [z, f(x)[0]] if swap else [f(x)[0], z]
        return np.concatenate(parts, -1)
    return answer


@pytest.mark.parametrize("fn, hint", [
    (lambda f, b, x, w: np.concatenate([f(x)[0], b(x[::-1])[0][::-1]], -1), "full bidirectional"),
    (_ahead(lambda x, t, w: x[t:t + w][::-1]), "w + 1 inputs"),
    (_ahead(lambda x, t, w: x[t:t + w + 1]), "right to left"),
    (_ahead(lambda x, t, w: x[t:t + w + 1][::-1], row=0), "LAST row"),
    (_ahead(lambda x, t, w: x[max(t - w, 0):t + 1]), "in the future"),
    (_ahead(lambda x, t, w: x[t:t + w + 1][::-1], swap=True), "forward direction comes first"),
])
def test_lookahead_slips_are_named(fn, hint):
    _expect_hint(C.check_lookahead_output, fn, hint)
