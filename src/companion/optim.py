r"""Optimisers for companion's numpy parameters, with ``torch.optim``'s rules and defaults.

numpy arrays have no ``.grad``, so an optimiser holds a dict of parameter arrays (a layer's
``params``, or several merged) and :meth:`Adam.step` (or :meth:`SGD.step`) takes the matching dict of gradients (the
layer's ``grads`` after ``backward``), updating the arrays **in place**::

    opt = Adam({**rnn.params, **head.params}, lr=0.01)
    ...
    rnn.backward(head.backward(d_o))
    grads = {**rnn.grads, **head.grads}
    clip_grad_norm(grads, max_norm=1.0)        # optional, in place, as torch's clip_grad_norm_
    opt.step(grads)

Every check happens before any array changes: a step refused with a ``ValueError`` (a
missing or extra name, a wrong shape, NaN or inf) leaves the parameters and the optimiser's
state as they were. ``tests/test_optim.py`` proves each rule equal to ``torch.optim`` step by
step, to 1e-12 in float64.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["SGD", "Adam", "global_norm", "clip_grad_norm"]


def _number(name, value, low=0.0, high=math.inf, low_open=False):
    """A float in [low, high) (or (low, high) with low_open), or a ValueError naming it."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        value = float(value)
        ok = (value > low if low_open else value >= low) and value < high
    if not ok:
        lo = "(" if low_open else "["
        raise ValueError(f"{name}: expected a finite number in {lo}{low:g}, {high:g}), got {value!r}")
    return value


def _grad_dict(name, grads, like):
    """``grads`` checked against the parameter dict ``like``: same names, shapes, finite."""
    if not isinstance(grads, dict):
        raise ValueError(f"{name}: expected a dict of gradient arrays (a layer's grads), "
                         f"got {type(grads).__name__}")
    missing, extra = sorted(set(like) - set(grads)), sorted(set(grads) - set(like))
    if missing or extra:
        raise ValueError(f"{name}: expected the names of the parameters; missing {missing}, "
                         f"unexpected {extra}")
    out = {}
    for k, p in like.items():
        g = grads[k]
        if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype.kind != "f":
            got = (f"shape {g.shape}, dtype {g.dtype}" if isinstance(g, np.ndarray)
                   else type(g).__name__)
            raise ValueError(f"{name}[{k!r}]: expected a float array of shape {p.shape}, got {got}")
        if not np.isfinite(g).all():
            raise ValueError(f"{name}[{k!r}]: expected finite values, got "
                             f"{'NaN' if np.isnan(g).any() else 'inf'}")
        out[k] = g
    return out


class _Optimizer:
    """What SGD and Adam share: the parameter dict, its checks and the step counter."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, weight_decay: float) -> None:
        if not isinstance(params, dict) or not params:
            raise ValueError(f"params: expected a non-empty dict of parameter arrays (a layer's "
                             f"params), got {type(params).__name__}"
                             + (" (empty)" if isinstance(params, dict) else ""))
        for k, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f" or not p.flags.writeable:
                raise ValueError(f"params[{k!r}]: expected a writeable float numpy array, got "
                                 f"{type(p).__name__}"
                                 + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else ""))
        self.params = dict(params)          # the same arrays: step updates the layer's own
        self.lr = _number("lr", lr, low_open=True)
        self.weight_decay = _number("weight_decay", weight_decay)
        self.t = 0                          # steps taken

    def _grads(self, grads):
        g = _grad_dict("grads", grads, self.params)
        if self.weight_decay:               # torch's L2 penalty: g <- g + lambda * theta
            g = {k: v + self.weight_decay * self.params[k] for k, v in g.items()}
        return g


class SGD(_Optimizer):
    r"""Gradient descent with optional momentum, ``torch.optim.SGD``'s rule.

    .. math::

        b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t \quad (b_1 = g_1), \qquad
        \theta_t = \theta_{t-1} - \eta\, b_t
        \quad(\text{Nesterov: } \theta_t = \theta_{t-1} - \eta\,(g_t + \mu\, b_t))

    with learning rate η = ``lr``, momentum μ, dampening τ. ``momentum=0`` is plain
    θ ← θ − η g, the update of slide 9's gradient descent.
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = _number("momentum", momentum)
        self.dampening = _number("dampening", dampening)
        if not isinstance(nesterov, bool):
            raise ValueError(f"nesterov: expected True or False, got {nesterov!r}")
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov: expected momentum > 0 and dampening = 0 with nesterov=True "
                             f"(as torch.optim.SGD), got momentum={self.momentum}, "
                             f"dampening={self.dampening}")
        self.nesterov = nesterov
        self.buffers: dict[str, np.ndarray] = {}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter in place, from ``grads`` (a dict like ``params``)."""
        g = self._grads(grads)
        self.t += 1
        for k, p in self.params.items():
            d = g[k]
            if self.momentum:
                b = self.buffers.get(k)
                if b is None:
                    b = self.buffers[k] = d.copy()
                else:
                    b *= self.momentum
                    b += (1 - self.dampening) * d
                d = d + self.momentum * b if self.nesterov else b
            p -= self.lr * d


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba, 2015), ``torch.optim.Adam``'s rule and defaults.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}
                    {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    The divisions by 1 − β^t correct the bias of m and v towards their zero start. The division
    is per parameter: a parameter whose gradient is tiny but steady (one sign, well above
    ``eps``) still moves by about η per step, while one whose gradient changes sign moves
    less (chapter 5). ``weight_decay`` adds λθ to g (torch's
    Adam, not AdamW).
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        self.beta1 = _number("betas[0]", betas[0], high=1.0)
        self.beta2 = _number("betas[1]", betas[1], high=1.0)
        self.eps = _number("eps", eps)
        self.m = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.v = {k: np.zeros_like(p) for k, p in self.params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter in place, from ``grads`` (a dict like ``params``)."""
        g = self._grads(grads)
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        for k, p in self.params.items():
            m, v, d = self.m[k], self.v[k], g[k]
            m *= b1
            m += (1 - b1) * d
            v *= b2
            v += (1 - b2) * d * d
            p -= (self.lr / c1) * m / (np.sqrt(v) / math.sqrt(c2) + self.eps)   # torch's order


def global_norm(grads: dict[str, np.ndarray]) -> float:
    r"""The norm of all gradients as one long vector, ‖∇‖ = sqrt(Σ_G Σ_ij G_ij²) (chapter 5)."""
    if not isinstance(grads, dict) or not grads:
        raise ValueError(f"grads: expected a non-empty dict of gradient arrays, got "
                         f"{type(grads).__name__}" + (" (empty)" if isinstance(grads, dict) else ""))
    for k, g in grads.items():
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            raise ValueError(f"grads[{k!r}]: expected a float numpy array, got {type(g).__name__}"
                             + (f" of dtype {g.dtype}" if isinstance(g, np.ndarray) else ""))
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    r"""Gradient norm clipping in place, ``torch.nn.utils.clip_grad_norm_``'s rule:

    .. math::

        \nabla \leftarrow \nabla \cdot \min\Big(1, \frac{\tau}{\|\nabla\| + 10^{-6}}\Big)

    with τ = ``max_norm`` and one global norm over all arrays: every gradient is scaled by
    the same factor, so the direction is kept. Returns ‖∇‖ before clipping.
    """
    max_norm = _number("max_norm", max_norm, low_open=True)
    total = global_norm(grads)
    if not math.isfinite(total):
        raise ValueError(f"grads: expected finite values, got a norm of {total} (nothing clipped)")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= coef
    return total
