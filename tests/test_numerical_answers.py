"""A numerical derivative is not the derivative an exercise asks for.

The derivative exercises (``run_check(..., analytic=True)``) compare with the chain rule's values
to rtol 1e-9. The central difference (f(x + eps) - f(x - eps)) / (2 eps), the numerical derivative
the chapters teach for checking, reaches about 1e-10 .. 1e-6 at any eps: it must fail, with feedback
that says so, not with a list of mismatches. A correct chain rule still passes
(tests/test_exercises.py runs every exercise's solution). Known limit, stated on the instructors'
page: a fourth-order stencil with a well-chosen eps reaches about 1e-12 .. 1e-10 and can pass.
"""
import numpy as np
import pytest

import companion.checks as C
from companion.checks import core


def _central(f, theta, order, eps):
    """dF/dtheta of the scalar f() by moving each entry of theta in place."""
    g = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        old = theta[i]

        def at(d, i=i, old=old):
            theta[i] = old + d
            return f()
        if order == 2:
            g[i] = (at(eps) - at(-eps)) / (2 * eps)
        else:
            g[i] = (8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps)
        theta[i] = old
    return g


def _softmax(o):
    e = np.exp(o - o.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def fd_bptt(order, eps):
    def rnn_bptt(x, y, h0, U, W, b, V, c):
        ps = {k: np.array(v, dtype=np.float64) for k, v in dict(U=U, W=W, b=b, V=V, c=c, h0=h0).items()}

        def loss():
            h, L = ps["h0"], 0.0
            for t in range(x.shape[0]):
                h = np.tanh(ps["b"] + h @ ps["W"].T + x[t] @ ps["U"].T)
                p = _softmax(ps["c"] + h @ ps["V"].T)
                L -= np.log(p[np.arange(len(y[t])), y[t]]).sum()
            return L
        g = {k: _central(loss, ps[k], order, eps) for k in ps}
        return g["U"], g["W"], g["b"], g["V"], g["c"], g["h0"]
    return rnn_bptt


def fd_leaky(order, eps):
    def leaky_backward_step(dh_t, x_t, h_prev, U, W, b, alpha):
        h_prev = np.array(h_prev, dtype=np.float64)
        a = b + h_prev @ W.T + x_t @ U.T

        def from_a():
            return np.sum(dh_t * ((1 - alpha) * h_prev + alpha * np.tanh(a)))

        def from_h():
            return np.sum(dh_t * ((1 - alpha) * h_prev + alpha * np.tanh(b + h_prev @ W.T + x_t @ U.T)))
        da = _central(from_a, a, order, eps)
        return da, _central(from_h, h_prev, order, eps)
    return leaky_backward_step


def fd_step_backward(order, eps):
    def rnn_backward_step(dh_t, h_t, W):
        # h_t = tanh(a_t): dL/da_t from L = sum(dh_t * tanh(a_t)) moved around a_t = artanh(h_t)
        a = np.arctanh(np.array(h_t, dtype=np.float64))
        da = _central(lambda: np.sum(dh_t * np.tanh(a)), a, order, eps)
        return da, da @ W
    return rnn_backward_step


CASES = [("check_rnn_bptt", fd_bptt), ("check_leaky_backward_step", fd_leaky),
         ("check_rnn_backward_step", fd_step_backward)]


@pytest.mark.parametrize("order,eps", [(2, 1e-4), (2, 1e-5), (2, 1e-6), (2, 1e-7)])
@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_a_numerical_derivative_fails_and_is_told_so(name, make, order, eps, hidden):
    fb = C.CHECKS[name](make(order, eps), seed=0, hidden=hidden)
    assert not fb.passed, f"{name}: central differences of order {order} (eps {eps}) passed"
    assert "numerical derivative" in str(fb), str(fb)


@pytest.mark.parametrize("name", ["check_rnn_bptt", "check_leaky_backward_step", "check_rnn_backward_step",
                                  "check_gru_step_backward", "check_coupled_gate_backward",
                                  "check_lstm_cell_jacobian"])
def test_the_chain_rule_still_passes_on_many_seeds(name):
    ex = C.CHECKS[name]
    for seed in range(5):
        for hidden in (False, True):
            fb = ex(ex.solution, seed=seed, hidden=hidden)
            assert fb.passed, f"{name} seed {seed} hidden={hidden}: {str(fb)}"


def test_the_tolerances():
    assert core.ANALYTIC_RTOL <= 1e-9 and core.ANALYTIC_ATOL <= 1e-11
    # a value off by a numerical derivative's error is refused; one off by rounding is not
    x = np.linspace(-3, 3, 50)
    assert core.compare("g", x * (1 + 1e-8), x, core.ANALYTIC_RTOL, core.ANALYTIC_ATOL) is not None
    assert core.compare("g", x * (1 + 1e-14), x, core.ANALYTIC_RTOL, core.ANALYTIC_ATOL) is None

