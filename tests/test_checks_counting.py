"""companion.checks.counting: the reference formulas are companion's layers' counts, and each slip is
named (wrong counts written here by hand). What every check must do is in tests/test_checks.py."""
import pytest

from companion.checks import counting as C

from check_helpers import hint_of


def test_reference_formulas_match_companion_layers():
    import companion
    D, H, K, T = 3, 5, 2, 4
    rnn, head = companion.RNN(D, H), companion.OutputHead(H, K)
    head_n = sum(p.size for p in head.params.values())
    assert C.rnn_num_params(D, H, K) == rnn.num_parameters() - H + head_n     # torch has two biases
    fc1, fc2 = companion.OutputHead(T * D, T * H), companion.OutputHead(T * H, T * K)
    assert C.fc_num_params(D, H, K, T) == sum(p.size for h in (fc1, fc2) for p in h.params.values())


@pytest.mark.parametrize("check", [C.check_rnn_num_params, C.check_unshared_num_params, C.check_fc_num_params])
def test_a_count_must_be_a_number(check):
    for not_a_number in ("many", True, [3]):
        fb = check(lambda *a, r=not_a_number: r)
        assert not fb and "expected a number" in str(fb), str(fb)


@pytest.mark.parametrize("check, wrong, hint", [
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + 2 * H + K * H + K, "two biases"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + H, "output head is missing"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + H + K * H, "output bias c"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + K * H + K, "bias b (H,) is missing"),
    (C.check_rnn_num_params, lambda D, H, K: 2 * H * D + H + K * H + K, "(H, H), not (H, D)"),
    (C.check_rnn_num_params, lambda D, H, K: H * D + H * H + K * H, "biases are missing"),
    (C.check_unshared_num_params, lambda D, H, K, T: H * D + H * H + H + K * H + K, "shared count"),
    (C.check_unshared_num_params, lambda D, H, K, T: (T - 1) * (H * D + H * H + H + K * H + K), "T - 1"),
    (C.check_unshared_num_params, lambda D, H, K, T: T * (H * D + H * H + H), "output head is missing"),
    (C.check_unshared_num_params, lambda D, H, K, T: T * (H * D + H * H + 2 * H + K * H + K), "two biases"),
    (C.check_fc_num_params, lambda D, H, K, T: (T * D) * (T * H) + (T * H) * (T * K), "biases are missing"),
    (C.check_fc_num_params, lambda D, H, K, T: (T * D) * H + H + H * (T * K) + T * K, "width T*H"),
    (C.check_fc_num_params, lambda D, H, K, T: T * (H * D + H * H + H + K * H + K), "T separate"),
    (C.check_fc_num_params, lambda D, H, K, T: (T * D) * (T * H) + T * H, "output layer is missing"),
])
def test_slips_are_named(check, wrong, hint):
    assert hint in hint_of(check(wrong))
