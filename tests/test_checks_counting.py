"""companion.checks.counting: the checks' own counts agree with companion's layers, each slip is
named (wrong counts written here by hand), and an answer that builds the layer or calls the
check's count is refused. What every check must do is in tests/test_checks.py."""
import numpy as np
import pytest

import companion
from companion.checks import core
from companion.checks import counting as C

from check_helpers import hint_of

REFUSED = "already does this exercise's job"


def _size(layer):
    return sum(p.size for p in layer.params.values())


def test_the_counts_match_companion_layers():
    D, H, K, T, m = 3, 5, 2, 4, 7
    rnn, head = companion.RNN(D, H), companion.OutputHead(H, K)
    assert C.rnn_num_params(D, H, K) == rnn.num_parameters() - H + _size(head)     # torch has two biases
    steps = [companion.RNN(D, H, seed=t) for t in range(T)]
    assert C.unshared_many_to_one_num_params(D, H, K, T) == sum(r.num_parameters() - H for r in steps) + _size(head)
    fc1, fc2 = companion.OutputHead(T * D, m), companion.OutputHead(m, K)
    assert C.fc_many_to_one_num_params(D, K, T, m) == _size(fc1) + _size(fc2)
    # the Jordan net: an RNN cell whose recurrent input is y_hat(t-1) (size K) instead of h(t-1)
    U, W, b = np.zeros((H, D)), np.zeros((H, K)), np.zeros(H)
    assert C.jordan_num_params(D, H, K) == U.size + W.size + b.size + _size(head)


CHECKS = [C.check_rnn_num_params, C.check_unshared_many_to_one_num_params, C.check_fc_many_to_one_num_params,
          C.check_jordan_num_params]


@pytest.mark.parametrize("check", CHECKS)
def test_a_count_must_be_a_number(check):
    for not_a_number in ("many", True, [3]):
        fb = check(lambda *a, r=not_a_number: r)
        assert not fb and "expected a number" in str(fb), str(fb)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("hidden", [False, True])
def test_every_slip_is_told_apart_on_every_case(check, hidden):
    """The cases are drawn so that the reference and every slip give different counts."""
    seen = []
    ex = C.CHECKS[check.__name__]
    assert check(lambda *a: seen.append(a) or ex.solution(*a), seed=5, hidden=hidden)
    assert len(seen) == 4 and len(set(seen)) == 4
    sizes = [v for a in seen for v in a]
    assert all(v >= 24 for v in sizes) if hidden else all(v < 30 for v in sizes)


def test_building_companions_layer_is_refused():
    fb = C.check_rnn_num_params(lambda D, H, K: companion.RNN(D, H).num_parameters() - H + K * H + K, seed=0)
    assert not fb and REFUSED in str(fb) and "RNN" in str(fb), str(fb)
    from companion.layers import RNN as MyRNN  # imported under another name: refused as well
    fb = C.check_rnn_num_params(lambda D, H, K: MyRNN(D, H).num_parameters() - H + K * H + K, seed=0)
    assert not fb and REFUSED in str(fb), str(fb)
    assert companion.RNN is MyRNN and companion.layers.RNN is MyRNN       # restored


def test_building_torchs_layer_is_refused():
    torch = pytest.importorskip("torch")
    from torch.nn import RNN as TorchRNN

    def with_torch(D, H, K):
        return sum(p.numel() for p in TorchRNN(D, H).parameters()) - H + K * H + K
    assert core.torch_function("nn.RNN") is TorchRNN
    fb = C.check_rnn_num_params(with_torch, seed=0)
    assert not fb and REFUSED in str(fb), str(fb)
    assert torch.nn.RNN is TorchRNN


@pytest.mark.parametrize("check, wrong, hint", [
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + 2 * H + K * H + K, "two biases"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + H, "output head is missing"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + H + K * H, "output bias c"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + K * H + K, "bias b (H,) is missing"),
    (C.check_rnn_num_params, lambda D, H, K: 2 * H * D + H + K * H + K, "(H, H), not (H, D)"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + K * H, "biases are missing"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: T * (H * D + H * H + H + K * H + K),
     "a head at every step"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: H * D + H * H + H + K * H + K, "shared count"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: T * (H * D + H * H + H), "head is missing"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: (T - 1) * (H * D + H * H + H) + K * H + K,
     "T - 1"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: T * (H * D + H * H + 2 * H) + K * H + K,
     "two biases"),
    (C.check_unshared_many_to_one_num_params, lambda D, H, K, T: T * (2 * H * D + H) + K * H + K, "(H, H)"),
    (C.check_fc_many_to_one_num_params, lambda D, K, T, m: T * D * m + m + m * T * K + T * K, "K scores"),
    (C.check_fc_many_to_one_num_params, lambda D, K, T, m: D * m + m + m * K + K, "T*D columns"),
    (C.check_fc_many_to_one_num_params, lambda D, K, T, m: T * D * m + m * K, "biases are missing"),
    (C.check_fc_many_to_one_num_params, lambda D, K, T, m: T * D * m + m, "output layer is missing"),
    (C.check_jordan_num_params, lambda D, H, K: H * D + H * H + H + K * H + K, "(H, K), not (H, H)"),
    (C.check_jordan_num_params, lambda D, H, K: H * D + K * K + H + K * H + K, "not (K, K)"),
    (C.check_jordan_num_params, lambda D, H, K: 2 * H * D + H + K * H + K, "not (H, D)"),
    (C.check_jordan_num_params, lambda D, H, K: H * D + H * K + H, "output head is missing"),
    (C.check_jordan_num_params, lambda D, H, K: H * D + H * K + 2 * H + K * H + K, "two biases"),
    (C.check_jordan_num_params, lambda D, H, K: H * D + H * K + K * H, "biases are missing"),
])
def test_slips_are_named(check, wrong, hint):
    for hidden in (False, True):
        assert hint in hint_of(check(wrong, hidden=hidden))
