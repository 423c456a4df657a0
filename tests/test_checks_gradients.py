"""companion.checks.gradients: the right answer passes, each slip is named, a stub fails."""
import numpy as np
import pytest
import torch

from companion.checks import gradients as C

from check_helpers import assert_rejects_non_answers


def jacobian_right(h_t, W):
    return (1 - h_t ** 2)[:, None] * W


def norms_right(W, g, n):
    out, d = [np.linalg.norm(g)], g
    for _ in range(n):
        d = W.T @ d
        out.append(np.linalg.norm(d))
    return np.array(out)


def clip_right(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {k: g * scale for k, g in grads.items()}, total


def clip_right_no_eps(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    return {k: g * min(1.0, max_norm / total) for k, g in grads.items()}, total


RIGHT = [(C.check_step_jacobian, jacobian_right), (C.check_linear_grad_norms, norms_right),
         (C.check_clip_grad_norm, clip_right), (C.check_clip_grad_norm, clip_right_no_eps)]
CHECKS = [C.check_step_jacobian, C.check_linear_grad_norms, C.check_clip_grad_norm]


@pytest.mark.parametrize("check, right", RIGHT)
def test_right_answer_passes(check, right):
    for _ in range(5):      # fresh vectors each call: pass every time
        fb = check(right)
        assert fb and str(fb).startswith("PASSED"), str(fb)


@pytest.mark.parametrize("check", CHECKS)
def test_stub_crash_and_non_function_fail(check):
    assert_rejects_non_answers(check)


def test_hard_coded_answer_fails():
    seen = []

    def spy(*a):
        out = jacobian_right(*a)
        seen.append(out)
        return out
    assert C.check_step_jacobian(spy)
    fb = C.check_step_jacobian(lambda *a: seen[0])
    assert not fb and "expected" in str(fb)


def test_reference_clip_equals_torch():
    rng = np.random.default_rng(0)
    for max_norm in (0.1, 1.0, 100.0):
        grads = {"a": rng.normal(0, 1, (3, 4)), "b": rng.normal(0, 1, 5)}
        ps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
        for p, g in zip(ps, grads.values()):
            p.grad = torch.from_numpy(g.copy())
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clipped, ours = C.reference_clip_grad_norm(grads, max_norm)
        assert np.isclose(ours, total.item())
        for p, g in zip(ps, clipped.values()):
            assert np.allclose(p.grad.numpy(), g, rtol=1e-12, atol=0)


def _expect_hint(check, fn, hint):
    fb = check(fn)
    text = str(fb)
    assert not fb and "hint: " in text and hint in text.split("hint: ")[1], text


@pytest.mark.parametrize("fn, hint", [
    (lambda h, W: W * (1 - h ** 2)[None, :], "scales the columns instead of the rows"),
    (lambda h, W: (1 - h ** 2)[:, None] * W.T, "W is transposed"),
    (lambda h, W: W, "tanh derivative is missing"),
    (lambda h, W: (1 - h)[:, None] * W, "not 1 - h(t)"),
    (lambda h, W: (1 - np.tanh(h) ** 2)[:, None] * W, "h_t is already tanh"),
])
def test_jacobian_slips_are_named(fn, hint):
    _expect_hint(C.check_step_jacobian, fn, hint)


def _powers(M, g, n):
    out, d = [np.linalg.norm(g)], g
    for _ in range(n):
        d = M @ d
        out.append(np.linalg.norm(d))
    return np.array(out)


@pytest.mark.parametrize("fn, hint", [
    (lambda W, g, n: _powers(W, g, n), "through W^T, not W"),
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
    assert not fb and "lacks the key" in str(fb)
    fb = C.check_clip_grad_norm(lambda G, m: clip_right(G, m)[0])
    assert not fb and "expected a tuple" in str(fb)
