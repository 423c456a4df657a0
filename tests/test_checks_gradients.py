"""companion.checks.gradients: the references agree with torch (clipping, the ReLU Jacobian product) and with
companion's layer (the experiment's measurement), each slip is named (wrong answers written here by hand),
and the functions that already do an exercise's job are refused. What every check must do is in
tests/test_checks.py."""
import numpy as np
import pytest
import torch

import companion
from companion import cells, gradcheck, optim
from companion.checks import gradients as C

from check_helpers import hint_of

# correct answers, from the registry; the wrong answers below that change one of them are built on
# these, never on the module's slip generators
jacobian_right = C.CHECKS["check_step_jacobian"].solution
norms_right = C.CHECKS["check_linear_grad_norms"].solution
clip_right = C.CHECKS["check_clip_grad_norm"].solution
relu_right = C.CHECKS["check_relu_jacobian_product"].solution
measure_right = C.CHECKS["check_vanishing_experiment"].solution
REFUSED = "already does this exercise's job"


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


# --------------------------------------------------------------------------- what each check refuses

def _dummy_rnn_step_backward(h, W):
    step = cells.RNNStep(np.arctanh(h), h, None, None)
    return [cells.rnn_step_backward(np.eye(len(h))[j], np.zeros(1), np.zeros(len(h)), step,
                                    np.zeros((len(h), 1)), W)["dh_prev"] for j in range(len(h))]


def _jacobian_by_finite_differences(h, W):
    # central differences of the linear map v -> diag(1 - h^2) W v, row by row: exact enough to pass
    J = np.zeros_like(W)
    v = np.zeros(len(h))
    for i in range(len(h)):
        J[i] = gradcheck.numerical_grad(lambda i=i: float(((1 - h ** 2) * (W @ v))[i]), v)
    return J


def _step_map(h, W):
    def f(v):            # v -> diag(1 - h^2) W v: its Jacobian is the answer
        return torch.from_numpy(1 - h ** 2) * (torch.from_numpy(W) @ v)
    return f


def _jacobian_by_torch(h, W):
    return torch.autograd.functional.jacobian(_step_map(h, W), torch.zeros(len(h), dtype=torch.float64)).numpy()


def _jacobian_by_jacrev(h, W):
    return torch.func.jacrev(_step_map(h, W))(torch.zeros(len(h), dtype=torch.float64)).numpy()


@pytest.mark.parametrize("answer, name", [
    (lambda h, W: np.stack(_dummy_rnn_step_backward(h, W)), "rnn_step_backward"),
    (_jacobian_by_finite_differences, "numerical_grad"),
    (_jacobian_by_torch, "jacobian"),
    (_jacobian_by_jacrev, "jacrev"),
])
def test_step_jacobian_refuses_what_computes_it(answer, name):
    fb = C.check_step_jacobian(answer, seed=0)
    assert not fb and REFUSED in str(fb) and name in str(fb), str(fb)
    assert C.check_step_jacobian(jacobian_right, seed=0)


def test_the_finite_difference_answer_would_pass_if_allowed():
    """Why numerical_grad is refused: its error is far below the tolerance."""
    rng = np.random.default_rng(0)
    h, W = np.tanh(rng.normal(size=4)), rng.normal(size=(4, 4))
    assert np.allclose(_jacobian_by_finite_differences(h, W), jacobian_right(h, W), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("answer, name", [
    (lambda G, m: (clip_right(G, m)[0], optim.global_norm(G)), "global_norm"),
    (lambda G, m: (clip_right(G, m)[0], float(torch.nn.utils.get_total_norm(
        [torch.from_numpy(g) for g in G.values()]))), "get_total_norm"),
    (lambda G, m: C.reference_clip_grad_norm(G, m), "reference_clip_grad_norm"),
])
def test_clip_refuses_what_computes_it(answer, name):
    fb = C.check_clip_grad_norm(answer, seed=0)
    assert not fb and REFUSED in str(fb) and name in str(fb), str(fb)


def test_linear_norms_refuse_the_reference():
    fb = C.check_linear_grad_norms(lambda W, g, n: C.reference_linear_grad_norms(W, g, n), seed=0)
    assert not fb and "reference_linear_grad_norms" in str(fb)


# --------------------------------------------------------------------------- transfer: the ReLU RNN

def test_reference_relu_product_equals_torch_autograd():
    """dh(T)/dh(0) of a real ReLU RNN run, differentiated by torch, is the reference's product."""
    rng = np.random.default_rng(3)
    for H, T in ((4, 3), (6, 5)):
        W, U, b = rng.normal(0, 1.2 / np.sqrt(H), (H, H)), rng.normal(size=(H, 2)), rng.normal(0, 0.3, H)
        x, h0 = rng.normal(size=(T, 2)), np.abs(rng.normal(size=H))
        t = torch.from_numpy
        Wt, Ut, bt, xt = t(W), t(U), t(b), t(x)

        def run(h, W=Wt, U=Ut, b=bt, x=xt):
            hs = []
            for x_t in x:
                h = torch.relu(b + W @ h + U @ x_t)
                hs.append(h)
            return hs
        hs = torch.stack(run(t(h0))).numpy()
        J = torch.autograd.functional.jacobian(lambda h, run=run: run(h)[-1], t(h0)).numpy()
        assert 0 < (hs > 0).mean() < 1
        assert np.allclose(C.reference_relu_jacobian_product(hs, W), J, rtol=1e-12, atol=1e-14)


def test_relu_product_written_another_way_passes():
    def backwards(h, W):             # from the last step: M = M @ J_t, t = T..1
        M = np.eye(len(W))
        for h_t in h[::-1]:
            M = M @ (W * (h_t > 0)[:, None])
        return M
    for hidden in (False, True):
        assert C.check_relu_jacobian_product(backwards, hidden=hidden)


def _product(h, W, step):
    M = np.eye(len(W))
    for k, h_t in enumerate(h):
        M = step(h, k, h_t, W) @ M
    return M


@pytest.mark.parametrize("answer, hint", [
    (lambda h, W: relu_right(h[::-1], W), "the order is reversed"),
    (lambda h, W: _product(h, W, lambda h, k, h_t, W: (1 - h_t ** 2)[:, None] * W), "1 - h(t)^2 is tanh's"),
    (lambda h, W: np.linalg.matrix_power(W, len(h)), "the ReLU's slope is missing"),
    (lambda h, W: _product(h, W, lambda h, k, h_t, W: W * (h_t > 0)[None, :]), "scales the columns"),
    (lambda h, W: _product(h, W, lambda h, k, h_t, W: (h[k - 1] > 0 if k else np.ones(len(W)))[:, None] * W),
     "not from h(t-1)"),
    (lambda h, W: relu_right(h, W).T, "this is the transpose"),
])
def test_relu_slips_are_named(answer, hint):
    for hidden in (False, True):
        assert hint in hint_of(C.check_relu_jacobian_product(answer, hidden=hidden))


def test_relu_product_refuses_what_computes_it():
    def by_backward(h, W):
        M = np.eye(len(W))
        for h_t in h:
            step = cells.RNNStep(h_t - 0.5 * (h_t <= 0), h_t, None, None)     # a(t) <= 0 where h(t) = 0
            rows = [cells.rnn_step_backward(np.eye(len(W))[j], np.zeros(1), np.zeros(len(W)), step,
                                            np.zeros((len(W), 1)), W, nonlinearity="relu")["dh_prev"]
                    for j in range(len(W))]
            M = np.stack(rows) @ M
        return M
    for answer, name in [(by_backward, "rnn_step_backward"),
                         (lambda h, W: C.reference_relu_jacobian_product(h, W), "reference_relu_jacobian_product")]:
        fb = C.check_relu_jacobian_product(answer, seed=0)
        assert not fb and REFUSED in str(fb) and name in str(fb), str(fb)


# --------------------------------------------------------------------------- experiment: input scale

def measure_with_layer(rhos, scale, Q, U, z, g):
    """The measurement with companion's building blocks (allowed): RNN forward and backward."""
    H, D = U.shape
    factors = []
    for rho in rhos:
        rnn = companion.RNN(D, H, seed=0)
        rnn.params["weight_ih_l0"][...] = U
        rnn.params["weight_hh_l0"][...] = rho * Q
        rnn.params["bias_ih_l0"][...] = 0.0
        rnn.params["bias_hh_l0"][...] = 0.0
        out, _ = rnn((scale * z)[:, None, :])
        d_out = np.zeros_like(out)
        d_out[-1, 0] = g
        _, d_h0 = rnn.backward(d_out)
        factors.append((np.linalg.norm(d_h0) / np.linalg.norm(g)) ** (1 / len(z)))
    factors = np.array(factors)
    above = np.flatnonzero(factors >= 1)
    return factors, (rhos[above[0]] if len(above) else np.inf)


def test_the_measurement_with_companions_layer_passes():
    """Another order of operations (row vectors, torch's two biases): the same to far below the
    tolerance, so the check grades the measurement, not the arithmetic's last bits."""
    for seed in range(3):
        for hidden in (False, True):
            assert C.check_vanishing_experiment(measure_with_layer, seed=seed, hidden=hidden)
    rng = np.random.default_rng(0)
    for hidden in (False, True):
        from companion.checks import core
        token = core._HIDDEN.set(hidden)
        try:
            case = C._experiment_case(rng)
        finally:
            core._HIDDEN.reset(token)
        ours, _ = C.reference_vanishing_factors(*case.args)
        theirs, _ = measure_with_layer(*case.args)
        assert np.allclose(ours, theirs, rtol=1e-10, atol=0)


def test_the_cases_have_crossings_and_none():
    """The conclusion is not a constant: over a few calls some grids cross 1, some never do, and
    with W = rho Q the factor never exceeds rho (so the grid's first rho, below 1, never crosses)."""
    from companion.checks import core
    seen = []
    for hidden in (False, True):
        token = core._HIDDEN.set(hidden)
        try:
            rng = np.random.default_rng(1)
            for _ in range(12):
                case = C._experiment_case(rng)
                f, rho_star = C.reference_vanishing_factors(*case.args)
                assert (f <= case.args[0] * (1 + 1e-12)).all()
                seen.append(np.isfinite(rho_star))
        finally:
            core._HIDDEN.reset(token)
    assert any(seen) and not all(seen)


def _change(**kw):
    """measure_right with one thing changed (written here, not with the module's slip helper)."""
    def answer(rhos, scale, Q, U, z, g):
        x = z if kw.get("no_scale") else scale * z
        T = len(x)
        factors = []
        for rho in rhos:
            W = rho * Q
            h, hs = np.zeros(len(g)), []
            for x_t in x:
                h = np.tanh(W @ h + U @ x_t)
                hs.append(h)
            if kw.get("shift"):
                hs = [np.zeros(len(g))] + hs[:-1]
            delta = g
            for h_t in reversed(hs):
                delta = (W if kw.get("W") else W.T) @ (delta * (1 - h_t ** 2))
            norm = np.linalg.norm(delta) / (1 if kw.get("no_g") else np.linalg.norm(g))
            factors.append(norm ** (1 / kw.get("root", lambda T: T)(T)))
        above = [r for r, f in zip(rhos, factors, strict=True) if f >= 1]
        return np.array(factors), (above[0] if above else np.inf)
    return answer


@pytest.mark.parametrize("answer, hint", [
    (lambda *a: measure_right(*a, slope=False), "the tanh's slope is missing"),
    (_change(no_scale=True), "the inputs are x = scale * z"),
    (_change(shift=True), "the state that step produced"),
    (_change(W=True), "back through W^T"),
    (_change(root=lambda T: 1), "you returned the norm itself"),
    (_change(root=lambda T: T - 1), "take the T-th root"),
    (_change(root=lambda T: T + 1), "take the T-th root"),
    (_change(no_g=True), "divide by ||g||"),
    (lambda *a: (measure_right(*a)[0], a[0][np.flatnonzero(measure_right(*a)[0] < 1)[-1]]),
     "not the largest whose factor is below 1"),
    (lambda *a: (measure_right(*a)[0], a[0][0]), "contradicts your own measurement"),
    (lambda *a: (measure_right(*a)[0], 1.0), "contradicts your own measurement"),
])
def test_experiment_slips_are_named(answer, hint):
    for hidden in (False, True):
        assert hint in hint_of(C.check_vanishing_experiment(answer, seed=2, hidden=hidden))


def test_a_wrong_measurement_with_its_own_conclusion_names_the_measurement():
    """A consistent conclusion drawn from a wrong measurement: the hint is about the measurement."""
    fb = C.check_vanishing_experiment(_change(W=True), seed=0)
    assert "back through W^T" in hint_of(fb) and "rho_star agrees" not in str(fb)


@pytest.mark.parametrize("answer, says", [
    (lambda *a: measure_right(*a)[0], "expected a tuple (factors, rho_star)"),
    (lambda *a: (measure_right(*a)[0], None), "rho_star: expected a number (np.inf"),
    (lambda *a: (measure_right(*a)[0][1:], measure_right(*a)[1]), "expected shape"),
])
def test_experiment_wrong_forms_are_reported(answer, says):
    fb = C.check_vanishing_experiment(answer, seed=0)
    assert not fb and says in str(fb) and "Traceback" not in str(fb), str(fb)


def test_experiment_refuses_its_reference():
    fb = C.check_vanishing_experiment(lambda *a: C.reference_vanishing_factors(*a), seed=0)
    assert not fb and "reference_vanishing_factors" in str(fb) and REFUSED in str(fb)
