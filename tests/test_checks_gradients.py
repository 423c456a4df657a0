"""companion.checks.gradients: the clipping reference is torch's, and each slip is named (wrong answers
written here by hand). What every check must do is in tests/test_checks.py."""
import numpy as np
import pytest
import torch

from companion.checks import gradients as C

from check_helpers import hint_of

# correct answers, from the registry; the wrong answers below that change one of them are built on
# these, never on the module's slip generators
jacobian_right = C.CHECKS["check_step_jacobian"].solution
norms_right = C.CHECKS["check_linear_grad_norms"].solution
clip_right = C.CHECKS["check_clip_grad_norm"].solution


def clip_right_no_eps(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    return {k: g * min(1.0, max_norm / total) for k, g in grads.items()}, total


@pytest.mark.parametrize("right", [jacobian_right, norms_right, clip_right, clip_right_no_eps])
def test_hand_written_answers_pass(right):
    """The tolerance accepts clipping with or without torch's 1e-6 in the denominator."""
    check = {jacobian_right: C.check_step_jacobian, norms_right: C.check_linear_grad_norms}.get(
        right, C.check_clip_grad_norm)
    for _ in range(5):      # fresh vectors each call: pass every time
        fb = check(right)
        assert fb and str(fb).startswith("PASSED"), str(fb)


def test_jacobian_sees_only_h_and_W():
    seen = []
    assert C.check_step_jacobian(lambda *a: seen.append(len(a)) or jacobian_right(*a))
    assert seen and set(seen) == {2}


def test_reference_clip_equals_torch():
    rng = np.random.default_rng(0)
    for max_norm in (0.1, 1.0, 100.0):
        grads = {"a": rng.normal(0, 1, (3, 4)), "b": rng.normal(0, 1, 5)}
        ps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
        for p, g in zip(ps, grads.values(), strict=True):
            p.grad = torch.from_numpy(g.copy())
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clipped, ours = C.reference_clip_grad_norm(grads, max_norm)
        assert np.isclose(ours, total.item())
        for p, g in zip(ps, clipped.values(), strict=True):
            assert np.allclose(p.grad.numpy(), g, rtol=1e-12, atol=0)


def _expect_hint(check, fn, hint):
    assert hint in hint_of(check(fn))


@pytest.mark.parametrize("fn, hint", [
    (lambda h, W: W * (1 - h ** 2)[None, :], "scales the columns instead of the rows"),
    (lambda h, W: (1 - h ** 2)[:, None] * W.T, "W is transposed"),
    (lambda h, W: W, "tanh derivative is missing"),
    (lambda h, W: (1 - h)[:, None] * W, "not 1 - h(t)"),
    (lambda h, W: (1 - np.tanh(h) ** 2)[:, None] * W, "h_t is already tanh"),
])
def test_jacobian_slips_are_named(fn, hint):
    _expect_hint(C.check_step_jacobian, fn, hint)


@pytest.mark.parametrize("fn, hint", [
    (lambda W, g, n: norms_right(W.T, g, n), "through W^T, not W"),
    (lambda W, g, n: np.max(np.abs(np.linalg.eigvals(W))) ** np.arange(n + 1) * np.linalg.norm(g),
     "spectral radius"),
    (lambda W, g, n: np.linalg.norm(W, 2) ** np.arange(n + 1) * np.linalg.norm(g), "upper bound"),
    (lambda W, g, n: norms_right(W, g, n + 1)[1:], "start at k = 0"),
])
def test_norms_slips_are_named(fn, hint):
    _expect_hint(C.check_linear_grad_norms, fn, hint)


def test_norms_wrong_length_is_a_shape_message():
    fb = C.check_linear_grad_norms(lambda W, g, n: norms_right(W, g, n)[1:])
    assert not fb and "expected shape" in str(fb)


def _total(grads):
    return np.sqrt(sum((g ** 2).sum() for g in grads.values()))


@pytest.mark.parametrize("fn, hint", [
    (lambda G, m: ({k: g * min(1.0, m / np.linalg.norm(g)) for k, g in G.items()}, _total(G)),
     "clipped by its own norm"),
    (lambda G, m: ({k: g * m / _total(G) for k, g in G.items()}, _total(G)), "below max_norm"),
    (lambda G, m: ({k: g * min(1.0, m / _total(G) ** 2) for k, g in G.items()}, _total(G) ** 2),
     "sum of squares"),
    (lambda G, m: ({k: g * min(1.0, m / sum(np.linalg.norm(v) for v in G.values())) for k, g in G.items()},
      _total(G)), "not the sum of the arrays' norms"),
    (lambda G, m: ({k: g / _total(G) if _total(G) > m else g for k, g in G.items()}, _total(G)),
     "multiply by max_norm"),
])
def test_clip_slips_are_named(fn, hint):
    _expect_hint(C.check_clip_grad_norm, fn, hint)


def test_clip_missing_key_and_wrong_return_are_reported():
    fb = C.check_clip_grad_norm(lambda G, m: ({}, _total(G)))
    assert not fb and "could not read your result: the clipped dict lacks the key(s)" in str(fb)
    fb = C.check_clip_grad_norm(lambda G, m: clip_right(G, m)[0])
    assert not fb and "expected a tuple" in str(fb)
