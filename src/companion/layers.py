"""Sequence layers RNN, LSTM and GRU with torch.nn's shapes, parameters and semantics,
and a hand-written backward (BPTT).

The fast path does what slide 14 asks ("these 4 matrix computations should be
done concurrently"): the input projection W_ih x_t of *all* time steps is one
matrix product before the loop, and every step computes all its gates with one
product h_{t-1} W_hh^T, the gate blocks stacked in torch's order (LSTM i, f, g,
o; GRU r, z, n). The readable per-gate version is :meth:`LSTM.forward_unfused`,
which calls the step functions of :mod:`companion.cells` one step at a time.

Layout inside: time-major (T, B, features). Each direction keeps its hidden
states in one buffer of T + 1 rows (the initial state plus one row a step), so
"h_{t-1}" and "h_t" for all t are two views of it and the weight gradients are
single products over all steps: dW_hh = sum_t dG_t^T h_{t-1}.

Structure. ``_Recurrent`` holds what the three layers share (parameters,
argument parsing through :mod:`companion.validation`, layers and directions,
copies, the workspace) and declares the hooks each layer fills in: the forward
and backward of one direction, its traces, its readable step. The GRU's two
variants are two function pairs (``_gru_torch_forward`` /
``_gru_torch_backward`` and the ``_lecture`` pair), each written as its own
equations. Weight names and shapes in the cells' notation come from the schema of
:mod:`companion.cells`.

Threads and copies. Each thread has its own scratch buffers (the workspace), so
threads sharing one layer compute correct outputs. A forward/backward *pair* is
not thread-safe: backward differentiates the layer's most recent forward, from
whichever thread it came (it raises if that thread's next forward overwrites the
buffers it is reading). ``copy.deepcopy(layer)`` (or pickling) gives an
independent layer, recorded pass included; ``copy.copy(layer)`` shares the
parameter arrays but has its own ``params`` dict, its own workspace and no
recorded pass.
"""
from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import cells
from .activations import sigmoid
from .validation import (
    check_bool,
    check_choice,
    check_dtype,
    check_param,
    check_positive_int,
    parse_sequence,
    parse_sequence_grad,
    parse_state,
    parse_state_grad,
)

if TYPE_CHECKING:
    import torch

__all__ = ["RNN", "LSTM", "GRU"]

#: A layer's state as forward returns it: h_n, or (h_n, c_n) for the LSTM.
State = np.ndarray | tuple[np.ndarray, np.ndarray]
#: A state as a caller passes it (arrays, nested lists, torch tensors), or None for zeros.
StateLike = ArrayLike | tuple[ArrayLike, ArrayLike] | None

# The cache while a forward pass runs: the workspace buffers the previous pass's cache points
# into are being overwritten, so an exception or Ctrl-C from here leaves nothing to differentiate.
_UNFINISHED = "unfinished"


# ====================================================================== the schema, stacked
#
# companion.cells names a cell's weights gate by gate (weight_names, weight_shapes); torch stacks
# the gates in blocks of weight_ih, weight_hh, bias_ih, bias_hh. The schema lists the gates in
# torch's block order (LSTM i, f, C (torch's g), o; GRU r, z, h (torch's n)), each as (weight on
# x_t, weight on h_{t-1}, bias or biases), so the k-th gate of the schema is the k-th block.

_ROLE_D, _ROLE_H = 2, 1   # sizes with D != H: a schema shape (H, D) then marks a weight on x_t

# the per-direction parameters every layer has: key inside the layer -> torch's name (less suffix)
_STACKED = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}

#: The peephole weights in the order of the gate blocks they feed, i, f, o (w_c<g> feeds the gate
#: whose bias is b_<g>): the order the layer stores and draws them in (the schema's is f, i, o).
_PEEPHOLES = tuple(sorted(cells.PEEPHOLE_WEIGHTS, key=lambda n: cells.LSTM_WEIGHTS.index("b_" + n[3:])))


def _gate_groups(kind: str) -> tuple[tuple[str, ...], ...]:
    """The schema's weight names of a ``kind`` cell (no peepholes) grouped by gate in block
    order, each group (weight on x_t, weight on h_{t-1}, bias[, second bias])."""
    groups: list[list[str]] = []
    for name, shape in cells.weight_shapes(kind, _ROLE_D, _ROLE_H).items():
        if shape == (_ROLE_H, _ROLE_D):      # acts on x_t: the first weight of the next gate
            groups.append([name])
        else:
            groups[-1].append(name)
    return tuple(tuple(g) for g in groups)


def _peephole_param(name: str) -> str:
    """The layer's parameter name (less suffix) of the schema's peephole weight: w_ci -> weight_ci."""
    return "weight" + name[1:]


def _suffix(layer: int, direction: int) -> str:
    """torch's parameter suffix of a layer and direction: _l0, _l0_reverse, _l1, ..."""
    return f"_l{layer}" + ("_reverse" if direction else "")


class _Workspace:
    """One thread's scratch buffers, and how many forward passes have started writing them.

    A cache records the ``generation`` it was written in: if it has moved on, the buffers the
    cache points into were overwritten by a later forward (in the thread that owns them)."""

    def __init__(self):
        self.buffers = {}
        self.generation = 0


class _Recurrent(abc.ABC):
    """What RNN, LSTM and GRU share: parameters, input checks, layers and directions.

    Threads: concurrent forward calls on one layer compute correct outputs (each thread
    has its own workspace), but a forward/backward pair is not thread-safe: ``backward``
    and ``traces`` use the most recent forward of any thread. Use one layer per thread
    (``copy.deepcopy(layer)`` gives an independent one) to train in parallel.
    ``copy.copy(layer)`` shares the parameter arrays (its ``params`` dict is its own) and
    nothing else: no workspace, no recorded pass.

    A subclass sets the class attributes ``_mode``, ``_gates`` (and ``_has_cell``) and
    implements the hooks of the section "subclass hooks" below.
    """

    #: torch.nn's class name, also the layer's name in messages: "RNN", "LSTM" or "GRU"
    _mode: str
    #: the cell's weight names in companion.cells' schema grouped by gate in block order
    #: (:func:`_gate_groups`); their number is the number of stacked gate blocks G
    _gates: tuple[tuple[str, ...], ...]
    #: True for the LSTM, whose state is (h, C): two arrays wherever the others have one
    _has_cell = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, dtype: DTypeLike = np.float64,
                 seed: int | None = None):
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dtype = check_dtype(dtype)
        self.num_directions = 2 if self.bidirectional else 1
        self.seed = seed
        self.params: dict[str, np.ndarray] = {}
        self._shapes = {}
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(self.hidden_size)     # torch's init: U(-1/sqrt(H), 1/sqrt(H))
        for name, shape in self._param_shapes():
            self._shapes[name] = shape
            self.params[name] = rng.uniform(-k, k, size=shape).astype(self.dtype)
        self.grads: dict[str, np.ndarray] | None = None
        self._cache = None
        self._local = threading.local()    # the per-thread _Workspace, created by _workspace()

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def _dir_forward(self, x: np.ndarray, s0: tuple[np.ndarray, ...], p: Mapping[str, np.ndarray | None],
                     reverse: bool, key: str) -> tuple[np.ndarray, tuple[np.ndarray, ...], dict[str, Any]]:
        """Forward of one direction of one layer over all T steps.

        x: (T, B, D_l), the layer's time-major input (D_l = input_size in layer 0, else
        num_directions * H); s0: this direction's initial state, a tuple of (B, H) arrays, (h_0,)
        or (h_0, C_0); p: its parameters, :meth:`_dir_params`; reverse: run t = T-1, ..., 0;
        key: names its workspace buffers (:meth:`_buffer`).
        Returns (out, s_n, cache): out (T, B, H), h_t of every step (may be a workspace buffer:
        the caller copies it); s_n the final state, a tuple like s0 of fresh arrays; cache a dict
        for :meth:`_dir_backward` and :meth:`_trace` (its arrays may be workspace buffers)."""

    @abc.abstractmethod
    def _dir_backward(self, dy: np.ndarray, ds: tuple[np.ndarray, ...], p: Mapping[str, np.ndarray | None],
                      c: dict[str, Any], key: str) -> tuple[np.ndarray, tuple[np.ndarray, ...],
                                                            dict[str, np.ndarray]]:
        """BPTT of one direction of one layer, from what :meth:`_dir_forward` cached.

        dy: (T, B, H), dL/d(out) of this direction (read only); ds: dL/d(final state), a tuple
        of (B, H) arrays like s_n (read only); p and key: as in the forward; c: its cache.
        Returns (dx, ds0, g), fresh arrays: dx (T, B, D_l) = dL/dx; ds0 = dL/d(initial state),
        a tuple like s0; g = {key of p: dL/d(that parameter)}, shaped like it, for every key of
        p that is not None."""

    @abc.abstractmethod
    def _trace(self, c: dict[str, Any]) -> dict[str, np.ndarray]:
        """One direction's per-step values from its cache, ``{name: (T, B, H) array}`` in the
        slides' names (views; :attr:`traces` copies them)."""

    @abc.abstractmethod
    def _step(self, x_t: np.ndarray, s: tuple[np.ndarray, ...],
              w: Mapping[str, np.ndarray]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """One step of the readable cell of :mod:`companion.cells`, for :meth:`forward_unfused`.

        x_t: (B, D_l); s: the state, a tuple of (B, H) arrays; w: the direction's
        :meth:`cell_weights`. Returns (the new state, a tuple like s; h_t (B, H))."""

    def _extra_param_shapes(self, D: int, sfx: str) -> Iterable[tuple[str, tuple[int, ...]]]:
        """(name, shape) of the parameters a layer has beyond torch's four, for the layer and
        direction of suffix ``sfx`` with input size D, stored after the four: none by default
        (the peephole LSTM's weight_ci, weight_cf, weight_co)."""
        return ()

    def _extra_dir_params(self, sfx: str, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Those extra parameters of direction ``sfx``, taken from ``p`` (all parameters), keyed
        by their names in the cells' schema (w_ci (H,) or (H, H), ...): none by default."""
        return {}

    def _grad_name(self, key: str, sfx: str) -> str:
        """The parameter name for the gradient :meth:`_dir_backward` returns under ``key``
        (a key of :meth:`_dir_params`): W_ih -> weight_ih{sfx}, and so on."""
        return _STACKED[key] + sfx

    def _extra_repr(self) -> str:
        """What ``repr`` shows after ``bidirectional=...``, e.g. ``", peephole='full'"``."""
        return ""

    def _torch_options(self) -> dict[str, Any]:
        """The torch.nn constructor's keyword arguments beyond the shared ones (RNN: its
        nonlinearity); ValueError where torch.nn has no equivalent of this layer."""
        return {}

    # ------------------------------------------------------------------ copies
    def __copy__(self):
        """Shallow: the same parameter arrays in a new ``params`` dict; its own workspace and no
        recorded pass (sharing them would let a forward on one corrupt the other's backward)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params)
        new.grads = None if self.grads is None else dict(self.grads)
        new._cache = None
        new._local = threading.local()
        return new

    def __getstate__(self):
        """For deepcopy and pickle: everything but the thread-local workspace. The recorded pass
        travels as copies of its arrays, tied to a workspace of its own that no forward writes."""
        state = dict(self.__dict__)
        del state["_local"]
        if isinstance(self._cache, dict):
            state["_cache"] = dict(self._cache, owner=_Workspace(), generation=0)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    # ------------------------------------------------------------------ parameters
    def _suffixes(self) -> Iterator[tuple[int, int, str]]:
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                yield layer, d, _suffix(layer, d)

    def _layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def _param_shapes(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """(name, shape) in torch's order of named_parameters(): the G gate blocks stacked."""
        G, H = len(self._gates), self.hidden_size
        for layer, _, sfx in self._suffixes():
            D = self._layer_input_size(layer)
            yield f"weight_ih{sfx}", (G * H, D)
            yield f"weight_hh{sfx}", (G * H, H)
            if self.bias:
                yield f"bias_ih{sfx}", (G * H,)
                yield f"bias_hh{sfx}", (G * H,)
            yield from self._extra_param_shapes(D, sfx)

    def _check_params(self) -> None:
        """Every parameter present, of its shape and dtype, and finite (ValueError naming it)."""
        for name, shape in self._shapes.items():
            check_param(name, self.params.get(name), shape, self.dtype)

    def _snapshot_params(self) -> dict[str, np.ndarray]:
        """Checked copies of the parameters: the forward computes with them and keeps them, so
        that backward can tell whether ``params`` changed since (numpy has no version counter).
        On a sequence the copy is small next to the activations (no change measurable at
        (T, B, D, H) = (100, 64, 64, 128)); on one step of one example it is not: about a third
        more time for a single-step LSTM(64, 128) forward."""
        self._check_params()
        return {name: self.params[name].copy() for name in self._shapes}

    def _check_unchanged(self, snapshot: Mapping[str, np.ndarray]) -> None:
        """backward's version check: the live parameters must still be the recorded pass's."""
        self._check_params()
        for name, p0 in snapshot.items():
            if not np.array_equal(self.params[name], p0):
                raise RuntimeError(f"backward: params[{name!r}] was changed after the forward pass; "
                                   "run forward again")

    def _dir_params(self, sfx: str,
                    params: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray | None]:
        """One direction's parameters: W_ih (G*H, D_l), W_hh (G*H, H), b_ih and b_hh (G*H,) or
        None without bias, then the extras of :meth:`_extra_dir_params`."""
        p = self.params if params is None else params
        return {"W_ih": p[f"weight_ih{sfx}"], "W_hh": p[f"weight_hh{sfx}"],
                "b_ih": p.get(f"bias_ih{sfx}"), "b_hh": p.get(f"bias_hh{sfx}"),
                **self._extra_dir_params(sfx, p)}

    def num_parameters(self) -> int:
        """Total number of scalar parameters (as ``sum(p.numel() for p in torch_module.parameters())``)."""
        return int(sum(p.size for p in self.params.values()))

    def _workspace(self) -> _Workspace:
        """This thread's :class:`_Workspace`, created on first use (threads never share one)."""
        ws = getattr(self._local, "ws", None)
        if ws is None:
            ws = self._local.ws = _Workspace()
        return ws

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A scratch array of this thread, kept between calls and reused when the shape matches.

        Why: a fresh array of tens of MB is page-faulted in on every call (several ms
        on these machines), while the previous call's gate buffers are dead once a new
        forward or backward starts. Only internal arrays live here; nothing returned to
        the caller (outputs, states, gradients, traces) is ever a workspace buffer.
        """
        buffers = self._workspace().buffers
        buf = buffers.get(key)
        if buf is None or buf.shape != tuple(shape):
            buf = buffers[key] = np.empty(shape, self.dtype)
        return buf

    def _recorded(self, what: str) -> dict[str, Any]:
        """The cache of the last complete forward, or a RuntimeError saying why there is none."""
        cache = self._cache
        if cache is None:
            raise RuntimeError(f"{what}: no forward pass recorded; call the layer on an input first"
                               + (" (forward_unfused does not record one)" if what == "backward" else ""))
        if not isinstance(cache, dict):    # _UNFINISHED
            raise RuntimeError(f"{what}: the last forward pass did not finish (it raised an exception or "
                               "was interrupted); call the layer on an input again")
        return cache

    @staticmethod
    def _check_not_overwritten(what: str, cache: Mapping[str, Any]) -> None:
        if cache["owner"].generation != cache["generation"]:
            raise RuntimeError(
                f"{what}: a forward pass in another thread overwrote the buffers of the recorded pass "
                f"while {what} read them; a forward/backward pair is not thread-safe (give each thread "
                "its own layer: copy.deepcopy(layer))")

    # ------------------------------------------------------------------ arguments and layout
    def _prepare(self, x: ArrayLike, state: StateLike) -> tuple[np.ndarray, tuple[np.ndarray, ...], bool]:
        """Validated, time-major copies of x (T, B, D) and of the initial state(s), each
        (num_layers * num_directions, B, H), and whether x was unbatched; nothing is mutated."""
        xt, unbatched = parse_sequence(x, self.input_size, batch_first=self.batch_first, dtype=self.dtype)
        shape = (self.num_layers * self.num_directions, xt.shape[1], self.hidden_size)
        states = parse_state(state, shape, unbatched=unbatched, has_cell=self._has_cell, mode=self._mode,
                             dtype=self.dtype)
        return xt, states, unbatched

    def _to_user(self, y: np.ndarray, unbatched: bool) -> np.ndarray:
        """(T, B, F) time-major -> the caller's layout."""
        if unbatched:
            return y[:, 0, :]
        return y.transpose(1, 0, 2) if self.batch_first else y

    def _state_to_user(self, states: list[np.ndarray], unbatched: bool) -> State:
        """States (num_layers * num_directions, B, H) -> h_n, or (h_n, c_n), in the caller's layout."""
        if unbatched:
            states = [s[:, 0, :] for s in states]
        return tuple(states) if self._has_cell else states[0]

    # ------------------------------------------------------------------ forward / backward
    def __call__(self, x: ArrayLike, state: StateLike = None) -> tuple[np.ndarray, State]:
        return self.forward(x, state)

    def forward(self, x: ArrayLike, state: StateLike = None) -> tuple[np.ndarray, State]:
        """``output, state = layer(x, state=None)`` with torch.nn's shapes.

        x: (T, B, D), or (B, T, D) with batch_first, or (T, D) unbatched.
        state: h_0 of shape (num_layers * num_directions, B, H) ((.., H) unbatched),
        or (h_0, c_0) for the LSTM; zeros when None.
        Returns output (T, B, num_directions * H) in x's layout, and h_n (or (h_n, c_n)).

        A refused input changes nothing. Once the input is accepted, the previous pass's
        record (cache, ``grads``, ``traces``) is dropped before any buffer is written, so a
        forward that raises or is interrupted half way leaves nothing stale behind.
        """
        params = self._snapshot_params()
        xt, states, unbatched = self._prepare(x, state)
        # From here on this thread's workspace is overwritten: drop the record that points into it.
        self._cache, self.grads = _UNFINISHED, None
        ws = self._workspace()
        ws.generation += 1
        generation = ws.generation
        nd, H = self.num_directions, self.hidden_size
        inp = xt
        layer_caches, finals = [], [[] for _ in states]
        for layer in range(self.num_layers):
            T, B = inp.shape[:2]
            out = np.empty((T, B, nd * H), self.dtype)
            dir_caches = []
            for d in range(nd):
                sfx = _suffix(layer, d)
                s0 = tuple(s[layer * nd + d] for s in states)
                y, s_n, cache = self._dir_forward(inp, s0, self._dir_params(sfx, params), bool(d), sfx)
                out[:, :, d * H:(d + 1) * H] = y
                for k, s in enumerate(s_n):
                    finals[k].append(s)
                dir_caches.append(cache)
            layer_caches.append((inp, dir_caches))
            inp = out
        self._cache = {"layers": layer_caches, "unbatched": unbatched, "x_shape": xt.shape,
                       "out_shape": inp.shape, "params": params, "owner": ws, "generation": generation}
        return self._to_user(inp, unbatched), self._state_to_user([np.stack(f) for f in finals], unbatched)

    def backward(self, d_output: ArrayLike | None = None,
                 d_state: StateLike = None) -> tuple[np.ndarray, State]:
        """BPTT for the most recent :meth:`forward`.

        d_output: dL/d(output), shaped like the output (None: zeros).
        d_state: dL/d(h_n) (or (dL/dh_n, dL/dc_n) for the LSTM), shaped like the
        returned state (None: zeros).
        Returns ``(d_x, d_state0)`` shaped like x and the initial state, and fills
        ``self.grads`` (same keys and shapes as ``params``; replaced, not accumulated).

        Raises RuntimeError when there is no complete forward pass to differentiate, or when
        ``params`` changed since it (a version check in the spirit of torch's autograd, which
        compares values: a parameter changed and changed back passes); ValueError
        for a parameter that is no longer valid (shape, dtype, NaN/inf).
        """
        cache = self._recorded("backward")
        self._check_unchanged(cache["params"])
        unbatched = cache["unbatched"]
        B = cache["x_shape"][1]
        nd, H, L = self.num_directions, self.hidden_size, self.num_layers
        if d_output is None:
            dy = np.zeros(cache["out_shape"], self.dtype)
        else:
            dy = parse_sequence_grad("d_output", d_output, cache["out_shape"], unbatched=unbatched,
                                     batch_first=self.batch_first, dtype=self.dtype)
        d_states = parse_state_grad(d_state, (L * nd, B, H), unbatched=unbatched, has_cell=self._has_cell,
                                    mode=self._mode, dtype=self.dtype)
        grads = {}
        d0 = [np.empty((L * nd, B, H), self.dtype) for _ in d_states]
        params = cache["params"]
        self._check_not_overwritten("backward", cache)
        for layer in reversed(range(L)):
            _, dir_caches = cache["layers"][layer]
            d_inp = None
            for d in range(nd):
                sfx = _suffix(layer, d)
                idx = layer * nd + d
                dx, ds0, g = self._dir_backward(dy[:, :, d * H:(d + 1) * H],
                                                tuple(s[idx] for s in d_states),
                                                self._dir_params(sfx, params), dir_caches[d], sfx)
                d_inp = dx if d_inp is None else d_inp + dx
                for k, s in enumerate(ds0):
                    d0[k][idx] = s
                for key, val in g.items():
                    grads[self._grad_name(key, sfx)] = val
            dy = d_inp
        self._check_not_overwritten("backward", cache)   # read while another thread wrote them?
        self.grads = {name: grads[name] for name in self._shapes}
        return self._to_user(dy, unbatched), self._state_to_user(d0, unbatched)

    # ------------------------------------------------------------------ traces
    @property
    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-step values of every gate after the last forward call.

        A dict keyed ``"l0"``, ``"l0_reverse"``, ``"l1"``... (layer and direction),
        each a dict of arrays shaped like the output of one direction:
        (T, B, H), (B, T, H) with batch_first, (T, H) unbatched. Names follow the
        slides: RNN ``a, h``; LSTM ``f, i, C_tilde, C, o, h``; GRU ``z, r, h_tilde, h``
        (z as the variant defines it). Copies: changing them changes nothing.
        """
        rec = self._recorded("traces")
        unb = rec["unbatched"]
        out = {}
        for layer, (_, dir_caches) in enumerate(rec["layers"]):
            for d, cache in enumerate(dir_caches):
                out[_suffix(layer, d)[1:]] = {
                    n: np.array(self._to_user(v, unb)) for n, v in self._trace(cache).items()}
        self._check_not_overwritten("traces", rec)
        return out

    # ------------------------------------------------------------------ helpers for chapters
    def cell_weights(self, layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
        """The weights of one layer and direction under the names of :mod:`companion.cells`.

        Weight matrices are views of ``params`` (gate blocks sliced out of the
        stacked torch layout); biases are the sums b_ih + b_hh the slides write as one b.
        """
        layer = int(layer)
        if not 0 <= layer < self.num_layers or direction not in range(self.num_directions):
            raise ValueError(f"layer, direction: expected 0 <= layer < {self.num_layers} and "
                             f"0 <= direction < {self.num_directions}, got {layer}, {direction}")
        return self._cell_weights(self._dir_params(_suffix(layer, direction)))

    def _cell_weights(self, p: Mapping[str, np.ndarray | None]) -> dict[str, np.ndarray]:
        """Direction parameters ``p`` -> the schema's names (:attr:`_gates`), then the extras.

        A gate with one bias gets b_ih + b_hh; one with two (the GRU's candidate, whose b_hn
        torch puts inside r * (.)) gets them apart, in that order."""
        w = {}
        for names, (W_x, W_h, b_ih, b_hh) in zip(self._gates, self._blocks(p), strict=True):
            x_name, h_name, *bias_names = names
            w[x_name], w[h_name] = W_x, W_h
            if len(bias_names) == 1:
                w[bias_names[0]] = b_ih + b_hh
            else:
                w.update(zip(bias_names, (b_ih, b_hh), strict=True))
        w.update((k, v) for k, v in p.items() if k not in _STACKED)
        return w

    def _blocks(self, p: Mapping[str, np.ndarray | None]) -> list[tuple[np.ndarray, ...]]:
        """Per gate block k: (W_ih rows, W_hh rows, b_ih part, b_hh part), views (zeros without bias)."""
        H, G = self.hidden_size, len(self._gates)
        zeros = np.zeros(G * H, self.dtype)
        b_ih = p["b_ih"] if p["b_ih"] is not None else zeros
        b_hh = p["b_hh"] if p["b_hh"] is not None else zeros
        return [(p["W_ih"][k * H:(k + 1) * H], p["W_hh"][k * H:(k + 1) * H],
                 b_ih[k * H:(k + 1) * H], b_hh[k * H:(k + 1) * H]) for k in range(G)]

    def forward_unfused(self, x: ArrayLike, state: StateLike = None) -> tuple[np.ndarray, State]:
        """The same computation as :meth:`forward`, one gate at a time with the readable
        step functions of :mod:`companion.cells`. For teaching and to prove the fused
        path right; it records nothing for :meth:`backward` or :attr:`traces`."""
        self._check_params()
        xt, states, unbatched = self._prepare(x, state)
        self._cache, self.grads = _UNFINISHED, None    # the previous record is gone from here on
        nd, H = self.num_directions, self.hidden_size
        inp = xt
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            T, B = inp.shape[:2]
            out = np.empty((T, B, nd * H), self.dtype)
            for d in range(nd):
                w = self.cell_weights(layer, d)
                s = tuple(st[layer * nd + d] for st in states)
                for t in (reversed(range(T)) if d else range(T)):
                    s, h = self._step(inp[t], s, w)
                    out[t, :, d * H:(d + 1) * H] = h
                for k, v in enumerate(s):
                    finals[k].append(v)
            inp = out
        self._cache, self.grads = None, None
        return self._to_user(inp, unbatched), self._state_to_user([np.stack(f) for f in finals], unbatched)

    def to_torch(self) -> torch.nn.RNNBase:
        """The equivalent ``torch.nn`` module, its parameters copied (imports torch).

        float64 layers give float64 modules. Refused (ValueError) where torch has no
        equivalent: the peephole LSTM and the lecture GRU; and for a parameter that is
        not valid (wrong shape or dtype, NaN or inf).
        """
        options = self._torch_options()
        self._check_params()     # shape, dtype and finite, each refusal naming the parameter
        import torch  # here, not at the top: ``import companion`` must not import torch

        module = getattr(torch.nn, self._mode)(
            self.input_size, self.hidden_size, num_layers=self.num_layers, bias=self.bias,
            batch_first=self.batch_first, bidirectional=self.bidirectional,
            dtype=torch.float64 if self.dtype == np.float64 else torch.float32, **options)
        with torch.no_grad():
            for name, p in module.named_parameters():
                p.copy_(torch.from_numpy(np.ascontiguousarray(self.params[name])))
        return module

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}, bidirectional={self.bidirectional}"
                f"{self._extra_repr()}, dtype={self.dtype.name})")


def _time_views(buf: np.ndarray, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """(outputs h_t, previous states h_{t-1}) as views of a (T + 1, B, H) buffer, indexed by t.

    Forward direction: buf[0] is the initial state and step t writes buf[t + 1].
    Reverse direction: buf[T] is the initial state and step t writes buf[t].
    """
    return (buf[:-1], buf[1:]) if reverse else (buf[1:], buf[:-1])


def _steps(T: int, reverse: bool, backward: bool = False) -> range:
    """The order of t: forward in time (0..T-1) for a forward pass of the forward direction,
    reversed for the reverse direction; a backward pass runs the opposite way."""
    return range(T - 1, -1, -1) if reverse != backward else range(T)


def _input_projection(x: np.ndarray, W_ih: np.ndarray, bias: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """W_ih x_t + bias for all t at once: one (T*B, D) x (D, G*H) product, into out (T, B, G*H)."""
    T, B, D = x.shape
    xp = out.reshape(T * B, -1)
    np.matmul(x.reshape(T * B, D), W_ih.T, out=xp)
    if bias is not None:
        xp += bias
    return out


def _weight_grads(dG: np.ndarray, x: np.ndarray, hprev: np.ndarray,
                  W_ih: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dW_ih, dW_hh, db and dx from the pre-activation gradients dG (T, B, G*H) of all steps at once."""
    T, B, GH = dG.shape
    dGf = dG.reshape(T * B, GH)
    return (dGf.T @ x.reshape(T * B, -1), dGf.T @ hprev.reshape(T * B, -1), dGf.sum(axis=0),
            (dGf @ W_ih).reshape(T, B, -1))


# ====================================================================== RNN

class RNN(_Recurrent):
    r"""Elman RNN, ``torch.nn.RNN``'s semantics (slide 5).

    .. math::

        a(t) = b + W h(t-1) + U x(t), \qquad h(t) = \tanh(a(t))

    with U = ``weight_ih_l{k}`` (H, D), W = ``weight_hh_l{k}`` (H, H),
    b = ``bias_ih_l{k}`` + ``bias_hh_l{k}``. ``nonlinearity="relu"`` uses ReLU.
    The output head o(t) = c + V h(t) is :class:`companion.head.OutputHead`.
    """

    _mode = "RNN"
    _gates = _gate_groups("rnn")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, bidirectional: bool = False,
                 dtype: DTypeLike = np.float64, seed: int | None = None):
        check_choice("nonlinearity", nonlinearity, cells.NONLINEARITIES)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", nonlinearity={self.nonlinearity!r}"

    def _torch_options(self):
        return {"nonlinearity": self.nonlinearity}

    def _dir_forward(self, x, s0, p, reverse, key):
        T, B, _ = x.shape
        H = self.hidden_size
        bias = None if p["b_ih"] is None else p["b_ih"] + p["b_hh"]
        A = _input_projection(x, p["W_ih"], bias, self._buffer(("A", key), (T, B, H)))   # a(t), all t
        buf = self._buffer(("h", key), (T + 1, B, H))
        out, hprev = _time_views(buf, reverse)
        hprev[T - 1 if reverse else 0][...] = s0[0]
        W_hhT = np.ascontiguousarray(p["W_hh"].T)   # BLAS is up to 2.5x slower on a transposed view at small sizes
        tmp = np.empty((B, self.hidden_size), self.dtype)
        tanh = self.nonlinearity == "tanh"
        for t in _steps(T, reverse):
            np.matmul(hprev[t], W_hhT, out=tmp)
            A[t] += tmp
            if tanh:
                np.tanh(A[t], out=out[t])
            else:
                np.maximum(A[t], 0, out=out[t])
        h_n = out[0 if reverse else T - 1]
        return out, (h_n.copy(),), {"x": x, "A": A, "out": out, "hprev": hprev, "reverse": reverse}

    def _dir_backward(self, dy, ds, p, c, key):
        out, hprev, T = c["out"], c["hprev"], dy.shape[0]
        dA = self._buffer(("dA", key), c["A"].shape)
        dh = ds[0].copy()
        W_hh = p["W_hh"]
        tanh = self.nonlinearity == "tanh"
        for t in _steps(T, c["reverse"], backward=True):
            dh += dy[t]
            if tanh:   # tanh'(a) = 1 - h^2
                np.multiply(out[t], out[t], out=dA[t])
                np.subtract(1.0, dA[t], out=dA[t])
                dA[t] *= dh
            else:      # relu'(a) = [h > 0]
                np.multiply(dh, out[t] > 0, out=dA[t])
            np.matmul(dA[t], W_hh, out=dh)
        dW_ih, dW_hh, db, dx = _weight_grads(dA, c["x"], hprev, p["W_ih"])
        g = {"W_ih": dW_ih, "W_hh": dW_hh}
        if p["b_ih"] is not None:
            g["b_ih"], g["b_hh"] = db, db.copy()
        return dx, (dh,), g

    def _trace(self, c):
        return {"a": c["A"], "h": c["out"]}

    def _step(self, x_t, s, w):
        # the unchecked step: _prepare validated x and the state once; per-step checks would
        # only cost time (and refuse a relu state that overflows, where forward gives inf)
        U, W, b = (w[name] for name in cells.RNN_WEIGHTS)
        h = cells._rnn_step(x_t, s[0], U, W, b, nonlinearity=self.nonlinearity).h_t
        return (h,), h


# ====================================================================== LSTM

class LSTM(_Recurrent):
    r"""LSTM with ``torch.nn.LSTM``'s semantics (slide 10), optionally with peepholes (slide 12).

    .. math::

        f_t &= \sigma(W_f \cdot [h_{t-1}, x_t] + b_f) \qquad
        i_t = \sigma(W_i \cdot [h_{t-1}, x_t] + b_i) \\
        \tilde C_t &= \tanh(W_C \cdot [h_{t-1}, x_t] + b_C) \qquad
        C_t = f_t * C_{t-1} + i_t * \tilde C_t \\
        o_t &= \sigma(W_o \cdot [h_{t-1}, x_t] + b_o) \qquad
        h_t = o_t * \tanh(C_t)

    ``weight_ih_l{k}`` (4H, D) stacks the x-columns of W_i, W_f, W_C, W_o in
    torch's gate order i, f, g, o (g is C_tilde); ``weight_hh_l{k}`` (4H, H) the
    h-columns. The slides' b_f is ``bias_ih`` + ``bias_hh`` of the f block.

    ``peephole="diagonal"``: f_t and i_t add w_cf * C_{t-1}, w_ci * C_{t-1} and o_t
    adds w_co * C_t, with ``weight_cf_l{k}`` etc. of shape (H,) (Gers &
    Schmidhuber 2000). ``peephole="full"``: the slides' W · [C, h, x] literally,
    the C-columns full (H, H) matrices. torch.nn.LSTM has no peepholes.
    """

    _mode = "LSTM"
    _gates = _gate_groups("lstm")
    _has_cell = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, dtype: DTypeLike = np.float64,
                 seed: int | None = None, peephole: str | None = None):
        check_choice("peephole", peephole, cells.PEEPHOLES)
        self.peephole = peephole
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", peephole={self.peephole!r}" if self.peephole else ""

    def _torch_options(self):
        if self.peephole:
            raise ValueError(f"layer: torch.nn.LSTM has no peepholes (peephole={self.peephole!r})")
        return {}

    def _extra_param_shapes(self, D, sfx):
        for name in _PEEPHOLES if self.peephole else ():
            yield _peephole_param(name) + sfx, cells.weight_shape(name, D, self.hidden_size, self.peephole)

    def _extra_dir_params(self, sfx, p):
        return {name: p[_peephole_param(name) + sfx] for name in (_PEEPHOLES if self.peephole else ())}

    def _grad_name(self, key, sfx):
        return _peephole_param(key) + sfx if key in _PEEPHOLES else super()._grad_name(key, sfx)

    def _dir_forward(self, x, s0, p, reverse, key):
        T, B, _ = x.shape
        H = self.hidden_size
        # All four gates with one tanh call: sigma(a) = (1 + tanh(a / 2)) / 2, so the rows of
        # the sigmoid gates i, f, o are pre-scaled by 1/2 (a copy of the weights, not the
        # parameters) and after tanh only those blocks need "* 0.5 + 0.5".
        half = np.full(4 * H, 0.5, self.dtype)
        half[2 * H:3 * H] = 1.0
        W_ih = p["W_ih"] * half[:, None]
        W_hhT = np.ascontiguousarray((p["W_hh"] * half[:, None]).T)
        bias = None if p["b_ih"] is None else (p["b_ih"] + p["b_hh"]) * half
        # (T, B, 4H): the (scaled) pre-activations of all steps, turned into the gates in place
        G = _input_projection(x, W_ih, bias, self._buffer(("G", key), (T, B, 4 * H)))
        hbuf = self._buffer(("h", key), (T + 1, B, H))
        cbuf = self._buffer(("C", key), (T + 1, B, H))
        out, hprev = _time_views(hbuf, reverse)
        C, Cprev = _time_views(cbuf, reverse)
        first = T - 1 if reverse else 0
        hprev[first][...] = s0[0]
        Cprev[first][...] = s0[1]
        tanhC = self._buffer(("tanhC", key), (T, B, H))
        tmp = np.empty((B, 4 * H), self.dtype)
        peep = self.peephole
        diag = peep == "diagonal"
        for t in _steps(T, reverse):
            g = G[t]
            np.matmul(hprev[t], W_hhT, out=tmp)
            g += tmp
            i_f, o = g[:, :2 * H], g[:, 3 * H:]
            if peep:   # f and i peep at C_{t-1} (halved like their other terms)
                if diag:
                    g[:, :H] += (0.5 * p["w_ci"]) * Cprev[t]
                    g[:, H:2 * H] += (0.5 * p["w_cf"]) * Cprev[t]
                else:
                    g[:, :H] += Cprev[t] @ (0.5 * p["w_ci"]).T
                    g[:, H:2 * H] += Cprev[t] @ (0.5 * p["w_cf"]).T
                ifg = g[:, :3 * H]   # o must wait for C_t
                np.tanh(ifg, out=ifg)
            else:
                np.tanh(g, out=g)
            i_f *= 0.5
            i_f += 0.5
            c = C[t]
            np.multiply(g[:, H:2 * H], Cprev[t], out=c)         # f_t * C_{t-1}
            np.multiply(g[:, :H], g[:, 2 * H:3 * H], out=tmp[:, :H])   # i_t * C_tilde_t
            c += tmp[:, :H]
            if peep:   # o peeps at the new C_t
                o += (0.5 * p["w_co"]) * c if diag else c @ (0.5 * p["w_co"]).T
                np.tanh(o, out=o)
            o *= 0.5
            o += 0.5
            np.tanh(c, out=tanhC[t])
            np.multiply(o, tanhC[t], out=out[t])
        last = 0 if reverse else T - 1
        cache = {"x": x, "G": G, "out": out, "hprev": hprev, "C": C, "Cprev": Cprev,
                 "tanhC": tanhC, "reverse": reverse}
        return out, (out[last].copy(), C[last].copy()), cache

    def _dir_backward(self, dy, ds, p, c, key):
        G, C, Cprev, tanhC = c["G"], c["C"], c["Cprev"], c["tanhC"]
        T, B, H4 = G.shape
        H = H4 // 4
        dG = self._buffer(("dG", key), G.shape)
        dh, dC = ds[0].copy(), ds[1].copy()
        tmp = np.empty((B, H), self.dtype)
        W_hh = p["W_hh"]
        peep = self.peephole
        diag = peep == "diagonal"
        for t in _steps(T, c["reverse"], backward=True):
            dh += dy[t]
            g, d = G[t], dG[t]
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            di, df, dgg, do = d[:, :H], d[:, H:2 * H], d[:, 2 * H:3 * H], d[:, 3 * H:]
            tc = tanhC[t]
            # do_pre = dh * tanh(C_t) * o(1 - o)
            np.multiply(dh, tc, out=do)
            np.subtract(1.0, o, out=tmp)
            tmp *= o
            do *= tmp
            # dC += dh * o * (1 - tanh(C_t)^2)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dC += tmp
            if peep:
                dC += do * p["w_co"] if diag else do @ p["w_co"]
            # di_pre = dC * C_tilde * i(1 - i); df_pre = dC * C_{t-1} * f(1 - f)
            np.subtract(1.0, i, out=tmp)
            tmp *= i
            tmp *= gg
            np.multiply(dC, tmp, out=di)
            np.subtract(1.0, f, out=tmp)
            tmp *= f
            tmp *= Cprev[t]
            np.multiply(dC, tmp, out=df)
            # dg_pre = dC * i * (1 - C_tilde^2)
            np.multiply(gg, gg, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= i
            np.multiply(dC, tmp, out=dgg)
            # dC_{t-1} = dC * f  (+ peepholes): the LSTM's gradient highway
            dC *= f
            if peep:
                if diag:
                    dC += di * p["w_ci"] + df * p["w_cf"]
                else:
                    dC += di @ p["w_ci"] + df @ p["w_cf"]
            np.matmul(d, W_hh, out=dh)
        dW_ih, dW_hh, db, dx = _weight_grads(dG, c["x"], c["hprev"], p["W_ih"])
        g = {"W_ih": dW_ih, "W_hh": dW_hh}
        if p["b_ih"] is not None:
            g["b_ih"], g["b_hh"] = db, db.copy()
        if peep:
            pairs = {"w_ci": (dG[..., :H], Cprev), "w_cf": (dG[..., H:2 * H], Cprev),
                     "w_co": (dG[..., 3 * H:], C)}
            for name, (dpre, cc) in pairs.items():
                if diag:
                    g[name] = np.einsum("tbh,tbh->h", dpre, cc)
                else:
                    g[name] = np.einsum("tbj,tbk->jk", dpre, cc)
        return dx, (dh, dC), g

    def _trace(self, c):
        G, H = c["G"], self.hidden_size
        return {"f": G[..., H:2 * H], "i": G[..., :H], "C_tilde": G[..., 2 * H:3 * H],
                "C": c["C"], "o": G[..., 3 * H:], "h": c["out"]}

    def _step(self, x_t, s, w):
        st = cells._lstm_step(x_t, s[0], s[1], w, peephole=self.peephole)   # validated in _prepare
        return (st.h_t, st.C_t), st.h_t


# ====================================================================== GRU
#
# The two variants share the gates r_t, z_t and differ in the candidate and the mix. Each is a
# forward/backward pair over the fused buffers, written as its own equations:
#
#   G (T, B, 3H)   the input side of r, z, n (+ b_hr, b_hz), turned into the gates r_t, z_t,
#                  n_t in place (n_t: torch's candidate, the slides' h_tilde_t);
#   hprev, out     h_{t-1} and h_t, (T, B, H) views of one buffer (_time_views);
#   HN (T, B, H)   the hidden-side value the reset gate touches, kept for the backward;
#   dG (T, B, 3H)  dL/d(the input-side pre-activations), which also give dW_ih, db_ih and dx.

def _gru_torch_forward(G: np.ndarray, hprev: np.ndarray, out: np.ndarray, HN: np.ndarray, W_hh: np.ndarray,
                       b_hn: np.ndarray | None, steps: Iterable[int]) -> None:
    r"""torch.nn.GRU for every t of ``steps``, r acting after the product:

    .. math::

        n_t = \tanh(W_{in} x_t + b_{in} + r_t * (W_{hn} h_{t-1} + b_{hn})), \qquad
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    HN[t] receives W_hn h_{t-1} + b_hn. One product h_{t-1} W_hh^T gives all three blocks."""
    B, H = hprev.shape[1:]
    W_hhT = np.ascontiguousarray(W_hh.T)
    tmp = np.empty((B, 3 * H), G.dtype)
    for t in steps:
        g, h, h_t = G[t], hprev[t], out[t]
        rz, r, z, n = g[:, :2 * H], g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        np.matmul(h, W_hhT, out=tmp)
        if b_hn is not None:
            tmp[:, 2 * H:] += b_hn
        rz += tmp[:, :2 * H]
        sigmoid(rz, out=rz)                          # r_t, z_t
        HN[t] = tmp[:, 2 * H:]                       # W_hn h_{t-1} + b_hn
        np.multiply(r, HN[t], out=tmp[:, 2 * H:])
        n += tmp[:, 2 * H:]
        np.tanh(n, out=n)                            # n_t
        np.subtract(h, n, out=h_t)                   # h_t = n_t + z_t * (h_{t-1} - n_t)
        h_t *= z
        h_t += n


def _gru_torch_backward(dy: np.ndarray, dh: np.ndarray, G: np.ndarray, hprev: np.ndarray, HN: np.ndarray,
                        W_hh: np.ndarray, dG: np.ndarray, scratch: Callable[[str, tuple[int, ...]], np.ndarray],
                        steps: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """BPTT of :func:`_gru_torch_forward`. dy (T, B, H): dL/dh_t from above; dh (B, H): dL/dh
    of the final state, turned into dL/dh_0 in place. Fills dG and returns (dW_hh, dHP), dHP
    (T, B, 3H) = dL/d(W_hh h_{t-1} + b_hh), which differs from dG in the n block: r_t scales
    the product there (a ``scratch`` buffer)."""
    B, H = dh.shape
    dHP = scratch("dHP", G.shape)
    tmp = np.empty((B, H), dh.dtype)
    for t in steps:
        dh += dy[t]
        g, d, dhp, h = G[t], dG[t], dHP[t], hprev[t]
        r, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        dr, dz, dn = d[:, :H], d[:, H:2 * H], d[:, 2 * H:]
        # dn_pre = dh * (1 - z) * (1 - n^2)
        np.multiply(n, n, out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= dh
        dn *= 1.0 - z
        # dz_pre = dh * (h_{t-1} - n) * z(1 - z)
        np.subtract(1.0, z, out=tmp)
        tmp *= z
        tmp *= dh
        np.subtract(h, n, out=dz)
        dz *= tmp
        # dr_pre = dn_pre * (W_hn h_{t-1} + b_hn) * r(1 - r); the n product gets dn_pre * r
        np.multiply(dn, HN[t], out=dr)
        np.multiply(dn, r, out=dhp[:, 2 * H:])
        np.subtract(1.0, r, out=tmp)
        tmp *= r
        dr *= tmp
        dhp[:, :2 * H] = d[:, :2 * H]
        # dh_{t-1} = dh * z (the direct path) + all three products' gradients through W_hh
        dh *= z
        dh += dhp @ W_hh
    TB = dHP.shape[0] * B
    return dHP.reshape(TB, 3 * H).T @ hprev.reshape(TB, H), dHP


def _gru_lecture_forward(G: np.ndarray, hprev: np.ndarray, out: np.ndarray, HN: np.ndarray, W_hh: np.ndarray,
                         b_hn: np.ndarray | None, steps: Iterable[int]) -> None:
    r"""The slides' GRU (slide 16) for every t of ``steps``, r acting before the product:

    .. math::

        \tilde h_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t * h_{t-1}) + b_{hn}), \qquad
        h_t = (1 - z_t) * h_{t-1} + z_t * \tilde h_t

    HN[t] receives r_t * h_{t-1}. The candidate's product needs r_t first: two products a step."""
    B, H = hprev.shape[1:]
    W_rzT, W_nT = np.ascontiguousarray(W_hh[:2 * H].T), np.ascontiguousarray(W_hh[2 * H:].T)
    tmp = np.empty((B, 2 * H), G.dtype)
    tmpn = np.empty((B, H), G.dtype)
    for t in steps:
        g, h, h_t = G[t], hprev[t], out[t]
        rz, r, z, n = g[:, :2 * H], g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        np.matmul(h, W_rzT, out=tmp)
        rz += tmp
        sigmoid(rz, out=rz)                          # r_t, z_t
        np.multiply(r, h, out=HN[t])                 # r_t * h_{t-1}
        np.matmul(HN[t], W_nT, out=tmpn)
        n += tmpn
        if b_hn is not None:
            n += b_hn
        np.tanh(n, out=n)                            # h_tilde_t
        np.subtract(n, h, out=h_t)                   # h_t = h_{t-1} + z_t * (h_tilde_t - h_{t-1})
        h_t *= z
        h_t += h


def _gru_lecture_backward(dy: np.ndarray, dh: np.ndarray, G: np.ndarray, hprev: np.ndarray, HN: np.ndarray,
                          W_hh: np.ndarray, dG: np.ndarray, scratch: Callable[[str, tuple[int, ...]], np.ndarray],
                          steps: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """BPTT of :func:`_gru_lecture_forward`, with :func:`_gru_torch_backward`'s arguments and
    results. No gate scales a hidden-side product here, so dL/d(W_hh-side products + b_hh) is
    dG itself (returned as dHP; ``scratch`` is not needed), and the n rows of W_hh meet
    r_t * h_{t-1}, not h_{t-1}."""
    B, H = dh.shape
    W_rz, W_n = W_hh[:2 * H], W_hh[2 * H:]
    tmp = np.empty((B, H), dh.dtype)
    drh = np.empty((B, H), dh.dtype)
    for t in steps:
        dh += dy[t]
        g, d, h = G[t], dG[t], hprev[t]
        r, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        dr, dz, dn = d[:, :H], d[:, H:2 * H], d[:, 2 * H:]
        # dh_tilde_pre = dh * z * (1 - h_tilde^2)
        np.multiply(n, n, out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= dh
        dn *= z
        # dz_pre = dh * (h_tilde - h_{t-1}) * z(1 - z)
        np.subtract(1.0, z, out=tmp)
        tmp *= z
        tmp *= dh
        np.subtract(n, h, out=dz)
        dz *= tmp
        # d(r * h) = dh_tilde_pre W_hn; dr_pre = d(r * h) * h_{t-1} * r(1 - r)
        np.matmul(dn, W_n, out=drh)
        np.multiply(drh, h, out=dr)
        np.subtract(1.0, r, out=tmp)
        tmp *= r
        dr *= tmp
        # dh_{t-1} = dh * (1 - z) (the direct path) + d(r * h) * r + (dr_pre, dz_pre) through W_hr, W_hz
        np.subtract(1.0, z, out=tmp)
        dh *= tmp
        np.multiply(drh, r, out=tmp)
        dh += tmp
        np.matmul(d[:, :2 * H], W_rz, out=tmp)
        dh += tmp
    TB = dG.shape[0] * B
    dGf = dG.reshape(TB, 3 * H)
    dW_hh = np.empty_like(W_hh)
    dW_hh[:2 * H] = dGf[:, :2 * H].T @ hprev.reshape(TB, H)
    dW_hh[2 * H:] = dGf[:, 2 * H:].T @ HN.reshape(TB, H)
    return dW_hh, dG


#: each GRU variant's (forward, backward) pair, keyed as companion.cells.GRU_VARIANTS
_GRU_FORMS = {"torch": (_gru_torch_forward, _gru_torch_backward),
              "lecture": (_gru_lecture_forward, _gru_lecture_backward)}


class GRU(_Recurrent):
    r"""GRU (slide 16) in two variants with torch.nn.GRU's parameter names and shapes.

    ``variant="torch"`` is exactly ``torch.nn.GRU``:

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \qquad
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t * (W_{hn} h_{t-1} + b_{hn})) \qquad
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    ``variant="lecture"`` is the slides exactly, same parameters:

    .. math::

        \tilde h_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t * h_{t-1}) + b_{hn}) \qquad
        h_t = (1 - z_t) * h_{t-1} + z_t * \tilde h_t

    The mapping: the slides' z_t is torch's 1 - z_t (negate W_iz, W_hz, b_iz,
    b_hz to move between them, since σ(-a) = 1 - σ(a)); the reset gate acts
    after the product in torch and before it in the slides, which no mapping
    undoes. Cho et al. (2014) use torch's role of z and the slides' place of r.
    Gate blocks are stacked in torch's order r, z, n.
    """

    _mode = "GRU"
    _gates = _gate_groups("gru")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, dtype: DTypeLike = np.float64,
                 seed: int | None = None, variant: str = "torch"):
        check_choice("variant", variant, cells.GRU_VARIANTS)
        self.variant = variant
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", variant={self.variant!r}"

    def _torch_options(self):
        if self.variant != "torch":
            raise ValueError(f"layer: torch.nn.GRU computes variant='torch' only, got variant={self.variant!r}")
        return {}

    def _dir_forward(self, x, s0, p, reverse, key):
        T, B, _ = x.shape
        H = self.hidden_size
        b_ih, b_hh = p["b_ih"], p["b_hh"]
        bias = None
        if b_ih is not None:   # b_hr, b_hz fold into the input side; b_hn stays with its product
            bias = b_ih.copy()
            bias[:2 * H] += b_hh[:2 * H]
        G = _input_projection(x, p["W_ih"], bias, self._buffer(("G", key), (T, B, 3 * H)))   # r, z, n
        buf = self._buffer(("h", key), (T + 1, B, H))
        out, hprev = _time_views(buf, reverse)
        hprev[T - 1 if reverse else 0][...] = s0[0]
        HN = self._buffer(("HN", key), (T, B, H))
        forward, _ = _GRU_FORMS[self.variant]
        forward(G, hprev, out, HN, p["W_hh"], None if b_hh is None else b_hh[2 * H:], _steps(T, reverse))
        cache = {"x": x, "G": G, "HN": HN, "out": out, "hprev": hprev, "reverse": reverse}
        return out, (out[0 if reverse else T - 1].copy(),), cache

    def _dir_backward(self, dy, ds, p, c, key):
        G, x = c["G"], c["x"]
        T, B, H3 = G.shape
        dG = self._buffer(("dG", key), G.shape)
        dh = ds[0].copy()
        _, backward = _GRU_FORMS[self.variant]
        dW_hh, dHP = backward(dy, dh, G, c["hprev"], c["HN"], p["W_hh"], dG,
                              lambda name, shape: self._buffer((name, key), shape),
                              _steps(T, c["reverse"], backward=True))
        dGf = dG.reshape(T * B, H3)
        g = {"W_ih": dGf.T @ x.reshape(T * B, -1), "W_hh": dW_hh}
        if p["b_ih"] is not None:
            g["b_ih"] = dGf.sum(axis=0)
            g["b_hh"] = g["b_ih"].copy() if dHP is dG else dHP.reshape(T * B, H3).sum(axis=0)
        return (dGf @ p["W_ih"]).reshape(T, B, -1), (dh,), g

    def _trace(self, c):
        G, H = c["G"], self.hidden_size
        return {"z": G[..., H:2 * H], "r": G[..., :H], "h_tilde": G[..., 2 * H:], "h": c["out"]}

    def _step(self, x_t, s, w):
        h = cells._gru_step(x_t, s[0], w, variant=self.variant).h_t   # validated in _prepare
        return (h,), h
