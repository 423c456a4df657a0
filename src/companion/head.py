"""The slides' output head: o(t) = c + V h(t), y_hat(t) = softmax(o(t)), with its backward."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .activations import cross_entropy, softmax
from .validation import as_real_array, check_dtype, check_param, check_positive_int

__all__ = ["OutputHead"]


class OutputHead:
    r"""Output layer of slide 5, applied at every time step.

    .. math::

        o(t) = c + V h(t), \qquad \hat y(t) = \mathrm{softmax}(o(t))

    V has shape (K, H) and c shape (K,) (the slide's second notation:
    V = W_ho, c = b_o). ``params`` holds ``{"V": V, "c": c}``; after
    :meth:`backward`, ``grads`` holds the same keys.

    The loss is the cross-entropy summed over steps and averaged over the
    sequences, L = -(1/B) sum_t sum_b log y_hat(t)[y(t)]; its gradient with
    respect to o(t) is the famous (y_hat(t) - onehot(y(t))) / B.

    :meth:`forward` keeps copies of h and of the parameters it used: changing the caller's h
    afterwards changes nothing, and changing ``params`` before :meth:`backward` is refused
    (RuntimeError), as torch refuses a tensor modified in place after it was saved.
    """

    def __init__(self, hidden_size: int, num_classes: int, dtype: DTypeLike = np.float64,
                 seed: int | None = None):
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.dtype = check_dtype(dtype)
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(self.hidden_size)     # torch.nn.Linear's init
        self.params: dict[str, np.ndarray] = {
            name: rng.uniform(-k, k, shape).astype(self.dtype) for name, shape in self._param_shapes().items()}
        self.grads: dict[str, np.ndarray] | None = None
        self._h = None
        self._params = None     # the parameters the last forward used (copies)

    def _param_shapes(self) -> dict[str, tuple[int, ...]]:
        """{name: shape}: V (K, H) and c (K,), in the order they are drawn."""
        return {"V": (self.num_classes, self.hidden_size), "c": (self.num_classes,)}

    def __call__(self, h: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        return self.forward(h)

    def _snapshot_params(self) -> dict[str, np.ndarray]:
        """Copies of V (K, H) and c (K,), checked: shape, dtype, finite (ValueError naming them)."""
        return {name: check_param(name, self.params.get(name), shape, self.dtype).copy()
                for name, shape in self._param_shapes().items()}

    def forward(self, h: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """o(t) = c + V h(t), y_hat(t) = softmax(o(t)): returns (o, y_hat) for h of shape (..., H).

        Keeps a copy of h (and of V, c) for :meth:`backward`."""
        params = self._snapshot_params()
        h = as_real_array("h", h, self.dtype, copy=True)   # a copy: the caller may reuse its array
        if h.ndim < 1 or h.shape[-1] != self.hidden_size:
            raise ValueError(f"h: expected last dimension hidden_size={self.hidden_size}, got shape {h.shape}")
        o = h @ params["V"].T + params["c"]
        self._h, self._params = h, params
        return o, softmax(o)

    def loss(self, o: ArrayLike, targets: ArrayLike) -> tuple[np.floating, np.ndarray]:
        """Cross-entropy summed over time and averaged over the batch.

        o: (T, B, K) logits (or (T, K) for one sequence); targets: (T, B) (or (T,)) ints.
        Returns (L, dL/do).
        """
        o = np.asarray(o)
        L_each = cross_entropy(o, targets, reduction="none")
        B = o.shape[1] if o.ndim == 3 else 1
        d_o = softmax(o)
        np.put_along_axis(d_o, np.asarray(targets)[..., None],
                          np.take_along_axis(d_o, np.asarray(targets)[..., None], axis=-1) - 1.0, axis=-1)
        return L_each.sum() / B, d_o / B

    def backward(self, d_o: ArrayLike) -> np.ndarray:
        """Given dL/do (shape of o), fills ``grads`` and returns dL/dh = d_o V.

        dL/dV = sum over steps and sequences of d_o h^T, dL/dc = sum of d_o. RuntimeError if
        ``params`` changed since the forward pass (its gradients would be of neither V)."""
        if self._h is None:
            raise RuntimeError("backward: no forward pass recorded; call the head on h first")
        self._snapshot_params()                     # still valid: shape, dtype, finite
        for name, p0 in self._params.items():
            if not np.array_equal(self.params[name], p0):
                raise RuntimeError(f"backward: params[{name!r}] was changed after the forward pass; "
                                   "run the head forward again")
        d_o = as_real_array("d_o", d_o, self.dtype)
        expected = self._h.shape[:-1] + (self.num_classes,)
        if d_o.shape != expected:
            raise ValueError(f"d_o: expected shape {expected} (the shape of o), got {d_o.shape}")
        K, H = self.num_classes, self.hidden_size
        self.grads = {"V": d_o.reshape(-1, K).T @ self._h.reshape(-1, H),
                      "c": d_o.reshape(-1, K).sum(axis=0)}
        return d_o @ self._params["V"]
