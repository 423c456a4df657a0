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

import threading

import numpy as np

from . import cells
from .activations import sigmoid
from .validation import (as_real_array, check_bool, check_choice, check_dtype, check_param,
                         check_positive_int, check_shape)

__all__ = ["RNN", "LSTM", "GRU"]

# The cache while a forward pass runs: the workspace buffers the previous pass's cache points
# into are being overwritten, so an exception or Ctrl-C from here leaves nothing to differentiate.
_UNFINISHED = "unfinished"


class _Workspace:
    """One thread's scratch buffers, and how many forward passes have started writing them.

    A cache records the ``generation`` it was written in: if it has moved on, the buffers the
    cache points into were overwritten by a later forward (in the thread that owns them)."""

    def __init__(self):
        self.buffers = {}
        self.generation = 0


class _Recurrent:
    """What RNN, LSTM and GRU share: parameters, input checks, layers and directions.

    Threads: concurrent forward calls on one layer compute correct outputs (each thread
    has its own workspace), but a forward/backward pair is not thread-safe: ``backward``
    and ``traces`` use the most recent forward of any thread. Use one layer per thread
    (``copy.deepcopy(layer)`` gives an independent one) to train in parallel.
    ``copy.copy(layer)`` shares the parameter arrays (its ``params`` dict is its own) and
    nothing else: no workspace, no recorded pass.
    """

    _mode = None          # "RNN", "LSTM", "GRU"
    _n_gates = 1          # stacked gate blocks in weight_ih / weight_hh
    _has_cell = False     # LSTM: the state is (h, c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, dtype=np.float64, seed=None):
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dtype = check_dtype(dtype)
        self.num_directions = 2 if self.bidirectional else 1
        self.seed = seed
        self.params = {}
        self._shapes = {}
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(self.hidden_size)     # torch's init: U(-1/sqrt(H), 1/sqrt(H))
        for name, shape in self._param_shapes():
            self._shapes[name] = shape
            self.params[name] = rng.uniform(-k, k, size=shape).astype(self.dtype)
        self.grads = None
        self._cache = None
        self._local = threading.local()    # the per-thread _Workspace, created by _workspace()

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
    def _suffixes(self):
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                yield layer, d, f"_l{layer}" + ("_reverse" if d else "")

    def _layer_input_size(self, layer):
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def _param_shapes(self):
        """(name, shape) in torch's order of named_parameters()."""
        G, H = self._n_gates, self.hidden_size
        for layer, d, sfx in self._suffixes():
            yield f"weight_ih{sfx}", (G * H, self._layer_input_size(layer))
            yield f"weight_hh{sfx}", (G * H, H)
            if self.bias:
                yield f"bias_ih{sfx}", (G * H,)
                yield f"bias_hh{sfx}", (G * H,)
            yield from self._extra_param_shapes(sfx)

    def _extra_param_shapes(self, sfx):
        return ()

    def _check_params(self):
        """Every parameter present, of its shape and dtype, and finite (ValueError naming it)."""
        for name, shape in self._shapes.items():
            check_param(name, self.params.get(name), shape, self.dtype)

    def _snapshot_params(self):
        """Checked copies of the parameters: the forward computes with them and keeps them, so
        that backward can tell whether ``params`` changed since (numpy has no version counter).
        On a sequence the copy is small next to the activations (no change measurable at
        (T, B, D, H) = (100, 64, 64, 128)); on one step of one example it is not: about a third
        more time for a single-step LSTM(64, 128) forward."""
        self._check_params()
        return {name: self.params[name].copy() for name in self._shapes}

    def _check_unchanged(self, snapshot):
        """backward's version check: the live parameters must still be the recorded pass's."""
        self._check_params()
        for name, p0 in snapshot.items():
            if not np.array_equal(self.params[name], p0):
                raise RuntimeError(f"backward: params[{name!r}] was changed after the forward pass; "
                                   "run forward again")

    def _dir_params(self, sfx, params=None):
        p = self.params if params is None else params
        return {"W_ih": p[f"weight_ih{sfx}"], "W_hh": p[f"weight_hh{sfx}"],
                "b_ih": p.get(f"bias_ih{sfx}"), "b_hh": p.get(f"bias_hh{sfx}"),
                **self._extra_dir_params(sfx, p)}

    def _extra_dir_params(self, sfx, p):
        return {}

    def num_parameters(self):
        """Total number of scalar parameters (as ``sum(p.numel() for p in torch_module.parameters())``)."""
        return int(sum(p.size for p in self.params.values()))

    def _workspace(self):
        """This thread's :class:`_Workspace`, created on first use (threads never share one)."""
        ws = getattr(self._local, "ws", None)
        if ws is None:
            ws = self._local.ws = _Workspace()
        return ws

    def _buffer(self, key, shape):
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

    def _recorded(self, what):
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
    def _check_not_overwritten(what, cache):
        if cache["owner"].generation != cache["generation"]:
            raise RuntimeError(
                f"{what}: a forward pass in another thread overwrote the buffers of the recorded pass "
                f"while {what} read them; a forward/backward pair is not thread-safe (give each thread "
                "its own layer: copy.deepcopy(layer))")

    # ------------------------------------------------------------------ input checks
    def _prepare(self, x, state):
        """Validated, time-major copies of x and of the initial state(s); nothing is mutated."""
        x = as_real_array("x", x, self.dtype)
        if x.ndim not in (2, 3):
            raise ValueError(
                f"x: expected 3 dimensions {'(B, T, D)' if self.batch_first else '(T, B, D)'} "
                f"or 2 dimensions (T, D) for one unbatched sequence, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected feature size (last dimension) {self.input_size}, "
                             f"got shape {x.shape}")
        unbatched = x.ndim == 2
        if unbatched:
            xt = x[:, None, :]
        else:
            xt = x.transpose(1, 0, 2) if self.batch_first else x
        T, B = xt.shape[:2]
        if T == 0 or B == 0:
            raise ValueError(f"x: expected at least one time step and one sequence, got shape {x.shape}")
        xt = np.array(xt, order="C")   # a copy: backward must not see later changes to the caller's x
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        expected = (LD, H) if unbatched else (LD, B, H)
        what = "num_layers * num_directions, " + ("hidden_size" if unbatched else "batch, hidden_size")
        if self._has_cell:
            if state is None:
                h0 = c0 = np.zeros((LD, B, H), self.dtype)
            else:
                if not isinstance(state, (tuple, list)) or len(state) != 2:
                    got = (f"an array of shape {np.shape(state)}" if hasattr(state, "shape")
                           else f"a {type(state).__name__}" + (f" of length {len(state)}"
                                                               if isinstance(state, (tuple, list)) else ""))
                    raise ValueError(f"state: expected a tuple (h_0, c_0) of shape {expected} each "
                                     f"for the LSTM, got {got}")
                h0 = check_shape("state[0] (h_0)", as_real_array("state[0] (h_0)", state[0], self.dtype),
                                 expected, what)
                c0 = check_shape("state[1] (c_0)", as_real_array("state[1] (c_0)", state[1], self.dtype),
                                 expected, what)
                h0 = h0.reshape(LD, B, H)
                c0 = c0.reshape(LD, B, H)
            states = (h0, c0)
        else:
            if state is None:
                h0 = np.zeros((LD, B, H), self.dtype)
            else:
                if isinstance(state, (tuple, list)):
                    raise ValueError(f"state: expected one array h_0 for the {self._mode}, got a "
                                     f"{type(state).__name__}")
                h0 = check_shape("state (h_0)", as_real_array("state (h_0)", state, self.dtype),
                                 expected, what).reshape(LD, B, H)
            states = (h0,)
        return xt, states, unbatched

    def _to_user(self, y, unbatched):
        """(T, B, F) time-major -> the caller's layout."""
        if unbatched:
            return y[:, 0, :]
        return y.transpose(1, 0, 2) if self.batch_first else y

    def _from_user(self, name, d, shape_tm, unbatched):
        """The caller's layout -> (T, B, F) time-major, checking the shape."""
        T, B, F = shape_tm
        expected = (T, F) if unbatched else ((B, T, F) if self.batch_first else (T, B, F))
        d = check_shape(name, as_real_array(name, d, self.dtype), expected, "the shape of the output")
        if unbatched:
            return d[:, None, :]
        return d.transpose(1, 0, 2) if self.batch_first else d

    # ------------------------------------------------------------------ forward / backward
    def __call__(self, x, state=None):
        return self.forward(x, state)

    def forward(self, x, state=None):
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
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                idx = layer * nd + d
                s0 = tuple(s[idx] for s in states)
                y, s_n, cache = self._dir_forward(inp, s0, self._dir_params(sfx, params), bool(d), sfx)
                out[:, :, d * H:(d + 1) * H] = y
                for k, s in enumerate(s_n):
                    finals[k].append(s)
                dir_caches.append(cache)
            layer_caches.append((inp, dir_caches))
            inp = out
        final = [np.stack(f) for f in finals]
        if unbatched:
            final = [f[:, 0, :] for f in final]
        self._cache = {"layers": layer_caches, "unbatched": unbatched, "x_shape": xt.shape,
                       "out_shape": inp.shape, "params": params, "owner": ws, "generation": generation}
        state_out = tuple(final) if self._has_cell else final[0]
        return self._to_user(inp, unbatched), state_out

    def backward(self, d_output=None, d_state=None):
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
        T, B, _ = cache["x_shape"]
        nd, H, L = self.num_directions, self.hidden_size, self.num_layers
        if d_output is None:
            dy = np.zeros(cache["out_shape"], self.dtype)
        else:
            dy = self._from_user("d_output", d_output, cache["out_shape"], unbatched)
        n_states = 2 if self._has_cell else 1
        st_shape = (L * nd, H) if unbatched else (L * nd, B, H)
        if d_state is None:
            d_states = [np.zeros((L * nd, B, H), self.dtype) for _ in range(n_states)]
        else:
            parts = d_state if self._has_cell else (d_state,)
            if self._has_cell and (not isinstance(d_state, (tuple, list)) or len(d_state) != 2):
                raise ValueError(f"d_state: expected a tuple (d_h_n, d_c_n) of shape {st_shape} each "
                                 f"for the LSTM, got {type(d_state).__name__}"
                                 + (f" of shape {np.shape(d_state)}" if hasattr(d_state, "shape") else ""))
            if not self._has_cell and isinstance(d_state, (tuple, list)):
                raise ValueError(f"d_state: expected one array d_h_n for the {self._mode}")
            d_states = [check_shape(f"d_state[{k}]" if self._has_cell else "d_state",
                                    as_real_array("d_state", p, self.dtype), st_shape,
                                    "the shape of the returned state").reshape(L * nd, B, H)
                        for k, p in enumerate(parts)]
        grads = {}
        d0 = [np.empty((L * nd, B, H), self.dtype) for _ in range(n_states)]
        params = cache["params"]
        self._check_not_overwritten("backward", cache)
        for layer in reversed(range(L)):
            inp, dir_caches = cache["layers"][layer]
            d_inp = None
            for d in range(nd):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
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
        if unbatched:
            d0 = [s[:, 0, :] for s in d0]
        return self._to_user(dy, unbatched), (tuple(d0) if self._has_cell else d0[0])

    @staticmethod
    def _grad_name(key, sfx):
        return {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih",
                "b_hh": "bias_hh"}.get(key, key) + sfx

    # ------------------------------------------------------------------ traces
    @property
    def traces(self):
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
                key = f"l{layer}" + ("_reverse" if d else "")
                out[key] = {n: np.array(self._to_user(v, unb)) for n, v in self._trace(cache).items()}
        self._check_not_overwritten("traces", rec)
        return out

    # ------------------------------------------------------------------ helpers for chapters
    def cell_weights(self, layer=0, direction=0):
        """The weights of one layer and direction under the names of :mod:`companion.cells`.

        Weight matrices are views of ``params`` (gate blocks sliced out of the
        stacked torch layout); biases are the sums b_ih + b_hh the slides write as one b.
        """
        layer = int(layer)
        if not 0 <= layer < self.num_layers or direction not in range(self.num_directions):
            raise ValueError(f"layer, direction: expected 0 <= layer < {self.num_layers} and "
                             f"0 <= direction < {self.num_directions}, got {layer}, {direction}")
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return self._cell_weights(self._dir_params(sfx))

    def _blocks(self, p):
        H, G = self.hidden_size, self._n_gates
        zeros = np.zeros(G * H, self.dtype)
        b_ih = p["b_ih"] if p["b_ih"] is not None else zeros
        b_hh = p["b_hh"] if p["b_hh"] is not None else zeros
        return [(p["W_ih"][k * H:(k + 1) * H], p["W_hh"][k * H:(k + 1) * H],
                 b_ih[k * H:(k + 1) * H], b_hh[k * H:(k + 1) * H]) for k in range(G)]

    def forward_unfused(self, x, state=None):
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
        final = [np.stack(f) for f in finals]
        if unbatched:
            final = [f[:, 0, :] for f in final]
        return self._to_user(inp, unbatched), (tuple(final) if self._has_cell else final[0])

    def to_torch(self):
        """The equivalent torch.nn module (imports torch)."""
        from .interop import to_torch
        return to_torch(self)

    def __repr__(self):
        extra = self._extra_repr()
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}, bidirectional={self.bidirectional}"
                f"{extra}, dtype={self.dtype.name})")

    def _extra_repr(self):
        return ""


def _time_views(buf, reverse):
    """(outputs h_t, previous states h_{t-1}) as views of a (T + 1, B, H) buffer, indexed by t.

    Forward direction: buf[0] is the initial state and step t writes buf[t + 1].
    Reverse direction: buf[T] is the initial state and step t writes buf[t].
    """
    return (buf[:-1], buf[1:]) if reverse else (buf[1:], buf[:-1])


def _input_projection(x, W_ih, bias, out):
    """W_ih x_t + bias for all t at once: one (T*B, D) x (D, G*H) product, into out (T, B, G*H)."""
    T, B, D = x.shape
    xp = out.reshape(T * B, -1)
    np.matmul(x.reshape(T * B, D), W_ih.T, out=xp)
    if bias is not None:
        xp += bias
    return out


def _weight_grads(dG, x, hprev, W_ih):
    """dW_ih, dW_hh, db and dx from the pre-activation gradients dG of all steps at once."""
    T, B, GH = dG.shape
    dGf = dG.reshape(T * B, GH)
    return dGf.T @ x.reshape(T * B, -1), dGf.T @ hprev.reshape(T * B, -1), dGf.sum(axis=0), \
        (dGf @ W_ih).reshape(T, B, -1)


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
    _n_gates = 1

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, bidirectional=False, dtype=np.float64, seed=None):
        check_choice("nonlinearity", nonlinearity, cells.NONLINEARITIES)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", nonlinearity={self.nonlinearity!r}"

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
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
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
        for t in (range(T) if c["reverse"] else range(T - 1, -1, -1)):
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

    def _cell_weights(self, p):
        (U, W, b_i, b_h), = self._blocks(p)
        return {"U": U, "W": W, "b": b_i + b_h}

    def _step(self, x_t, s, w):
        # the unchecked step: _prepare validated x and the state once; per-step checks would
        # only cost time (and refuse a relu state that overflows, where forward gives inf)
        h = cells._rnn_step(x_t, s[0], w["U"], w["W"], w["b"], nonlinearity=self.nonlinearity).h_t
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
    _n_gates = 4
    _has_cell = True

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, dtype=np.float64, seed=None, peephole=None):
        check_choice("peephole", peephole, cells.PEEPHOLES)
        self.peephole = peephole
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", peephole={self.peephole!r}" if self.peephole else ""

    def _extra_param_shapes(self, sfx):
        if self.peephole:
            H = self.hidden_size
            shape = (H,) if self.peephole == "diagonal" else (H, H)
            for g in ("ci", "cf", "co"):
                yield f"weight_{g}{sfx}", shape

    def _extra_dir_params(self, sfx, p):
        if not self.peephole:
            return {}
        return {g: p[f"weight_{g}{sfx}"] for g in ("ci", "cf", "co")}

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
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            g = G[t]
            np.matmul(hprev[t], W_hhT, out=tmp)
            g += tmp
            i_f, o = g[:, :2 * H], g[:, 3 * H:]
            if peep:   # f and i peep at C_{t-1} (halved like their other terms)
                if diag:
                    g[:, :H] += (0.5 * p["ci"]) * Cprev[t]
                    g[:, H:2 * H] += (0.5 * p["cf"]) * Cprev[t]
                else:
                    g[:, :H] += Cprev[t] @ (0.5 * p["ci"]).T
                    g[:, H:2 * H] += Cprev[t] @ (0.5 * p["cf"]).T
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
                o += (0.5 * p["co"]) * c if diag else c @ (0.5 * p["co"]).T
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
        for t in (range(T) if c["reverse"] else range(T - 1, -1, -1)):
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
                dC += do * p["co"] if diag else do @ p["co"]
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
                    dC += di * p["ci"] + df * p["cf"]
                else:
                    dC += di @ p["ci"] + df @ p["cf"]
            np.matmul(d, W_hh, out=dh)
        dW_ih, dW_hh, db, dx = _weight_grads(dG, c["x"], c["hprev"], p["W_ih"])
        g = {"W_ih": dW_ih, "W_hh": dW_hh}
        if p["b_ih"] is not None:
            g["b_ih"], g["b_hh"] = db, db.copy()
        if peep:
            pairs = {"ci": (dG[..., :H], Cprev), "cf": (dG[..., H:2 * H], Cprev),
                     "co": (dG[..., 3 * H:], C)}
            for name, (dpre, cc) in pairs.items():
                if diag:
                    g[name] = np.einsum("tbh,tbh->h", dpre, cc)
                else:
                    g[name] = np.einsum("tbj,tbk->jk", dpre, cc)
        return dx, (dh, dC), g

    @staticmethod
    def _grad_name(key, sfx):
        if key in ("ci", "cf", "co"):
            return f"weight_{key}{sfx}"
        return _Recurrent._grad_name(key, sfx)

    def _trace(self, c):
        G, H = c["G"], self.hidden_size
        return {"f": G[..., H:2 * H], "i": G[..., :H], "C_tilde": G[..., 2 * H:3 * H],
                "C": c["C"], "o": G[..., 3 * H:], "h": c["out"]}

    def _cell_weights(self, p):
        w = {}
        for gate, (W_x, W_h, b_i, b_h) in zip("ifCo", self._blocks(p)):
            w[f"W_x{gate}"], w[f"W_h{gate}"], w[f"b_{gate}"] = W_x, W_h, b_i + b_h
        if self.peephole:
            w.update(w_ci=p["ci"], w_cf=p["cf"], w_co=p["co"])
        return w

    def _step(self, x_t, s, w):
        st = cells._lstm_step(x_t, s[0], s[1], w, peephole=self.peephole)   # validated in _prepare
        return (st.h_t, st.C_t), st.h_t


# ====================================================================== GRU

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
    _n_gates = 3

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, dtype=np.float64, seed=None, variant="torch"):
        check_choice("variant", variant, cells.GRU_VARIANTS)
        self.variant = variant
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         dtype, seed)

    def _extra_repr(self):
        return f", variant={self.variant!r}"

    def _dir_forward(self, x, s0, p, reverse, key):
        T, B, _ = x.shape
        H = self.hidden_size
        b_ih, b_hh = p["b_ih"], p["b_hh"]
        bias = None
        if b_ih is not None:   # b_hr, b_hz fold into the input side; b_hn cannot (torch: inside r * (.))
            bias = b_ih.copy()
            bias[:2 * H] += b_hh[:2 * H]
        G = _input_projection(x, p["W_ih"], bias, self._buffer(("G", key), (T, B, 3 * H)))   # r, z, n
        buf = self._buffer(("h", key), (T + 1, B, H))
        out, hprev = _time_views(buf, reverse)
        hprev[T - 1 if reverse else 0][...] = s0[0]
        HN = self._buffer(("HN", key), (T, B, H))   # torch: W_hn h + b_hn; lecture: r * h
        W_hh = p["W_hh"]
        lecture = self.variant == "lecture"
        if lecture:
            W_rzT, W_nT = np.ascontiguousarray(W_hh[:2 * H].T), np.ascontiguousarray(W_hh[2 * H:].T)
            tmp = np.empty((B, 2 * H), self.dtype)
            tmpn = np.empty((B, H), self.dtype)
        else:
            W_hhT = np.ascontiguousarray(W_hh.T)
            tmp = np.empty((B, 3 * H), self.dtype)
        b_hn = None if b_hh is None else b_hh[2 * H:]
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            g, h, ht = G[t], hprev[t], out[t]
            rz, r, z, n = g[:, :2 * H], g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
            if lecture:
                np.matmul(h, W_rzT, out=tmp)
                rz += tmp
                sigmoid(rz, out=rz)
                np.multiply(r, h, out=HN[t])                 # r_t * h_{t-1}
                np.matmul(HN[t], W_nT, out=tmpn)
                n += tmpn
                if b_hn is not None:
                    n += b_hn
                np.tanh(n, out=n)
                np.subtract(n, h, out=ht)                    # h + z * (h_tilde - h)
                ht *= z
                ht += h
            else:
                np.matmul(h, W_hhT, out=tmp)
                if b_hn is not None:
                    tmp[:, 2 * H:] += b_hn
                rz += tmp[:, :2 * H]
                sigmoid(rz, out=rz)
                HN[t] = tmp[:, 2 * H:]                       # W_hn h_{t-1} + b_hn
                np.multiply(r, HN[t], out=tmp[:, 2 * H:])
                n += tmp[:, 2 * H:]
                np.tanh(n, out=n)
                np.subtract(h, n, out=ht)                    # n + z * (h - n)
                ht *= z
                ht += n
        last = 0 if reverse else T - 1
        cache = {"x": x, "G": G, "HN": HN, "out": out, "hprev": hprev, "reverse": reverse}
        return out, (out[last].copy(),), cache

    def _dir_backward(self, dy, ds, p, c, key):
        G, HN, hprev = c["G"], c["HN"], c["hprev"]
        T, B, H3 = G.shape
        H = H3 // 3
        lecture = self.variant == "lecture"
        dG = self._buffer(("dG", key), G.shape)     # gradients of the input-side pre-activations
        dHP = self._buffer(("dHP", key), G.shape)   # ... of the hidden-side products (differ in the n block)
        dh = ds[0].copy()
        tmp = np.empty((B, H), self.dtype)
        W_hh = p["W_hh"]
        W_n = W_hh[2 * H:]
        for t in (range(T) if c["reverse"] else range(T - 1, -1, -1)):
            dh += dy[t]
            g, d, dhp, h = G[t], dG[t], dHP[t], hprev[t]
            r, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
            dr, dz, dn = d[:, :H], d[:, H:2 * H], d[:, 2 * H:]
            # dn_pre = dh * (weight of n) * (1 - n^2)
            np.multiply(n, n, out=dn)
            np.subtract(1.0, dn, out=dn)
            dn *= dh
            dn *= z if lecture else (1.0 - z)
            # dz_pre = dh * (n - h) * z(1 - z)   [torch: (h - n)]
            np.subtract(1.0, z, out=tmp)
            tmp *= z
            tmp *= dh
            if lecture:
                np.subtract(n, h, out=dz)
            else:
                np.subtract(h, n, out=dz)
            dz *= tmp
            if lecture:
                drh = dn @ W_n                    # d(r * h)
                np.multiply(drh, h, out=dr)
                dhp[:, 2 * H:] = dn
            else:
                np.multiply(dn, HN[t], out=dr)
                np.multiply(dn, r, out=dhp[:, 2 * H:])
            np.subtract(1.0, r, out=tmp)
            tmp *= r
            dr *= tmp
            dhp[:, :2 * H] = d[:, :2 * H]
            # dh_{t-1}: the direct path (torch: z, lecture: 1 - z) plus the products
            if lecture:
                dh *= 1.0 - z
                dh += drh * r
                dh += d[:, :2 * H] @ W_hh[:2 * H]
            else:
                dh *= z
                dh += dhp @ W_hh
        TB = T * B
        dGf, dHPf = dG.reshape(TB, H3), dHP.reshape(TB, H3)
        x = c["x"]
        g = {"W_ih": dGf.T @ x.reshape(TB, -1)}
        if lecture:   # the n rows of W_hh meet r * h, not h
            dW_hh = np.empty_like(W_hh)
            dW_hh[:2 * H] = dGf[:, :2 * H].T @ hprev.reshape(TB, H)
            dW_hh[2 * H:] = dGf[:, 2 * H:].T @ HN.reshape(TB, H)
            g["W_hh"] = dW_hh
        else:
            g["W_hh"] = dHPf.T @ hprev.reshape(TB, H)
        if p["b_ih"] is not None:
            g["b_ih"], g["b_hh"] = dGf.sum(axis=0), dHPf.sum(axis=0)
        dx = (dGf @ p["W_ih"]).reshape(T, B, -1)
        return dx, (dh,), g

    def _trace(self, c):
        G, H = c["G"], self.hidden_size
        return {"z": G[..., H:2 * H], "r": G[..., :H], "h_tilde": G[..., 2 * H:], "h": c["out"]}

    def _cell_weights(self, p):
        (W_xr, W_hr, bir, bhr), (W_xz, W_hz, biz, bhz), (W_xh, W_hh, bin_, bhn) = self._blocks(p)
        return {"W_xr": W_xr, "W_hr": W_hr, "b_r": bir + bhr, "W_xz": W_xz, "W_hz": W_hz,
                "b_z": biz + bhz, "W_xh": W_xh, "W_hh": W_hh, "b_xh": bin_, "b_hh": bhn}

    def _step(self, x_t, s, w):
        h = cells._gru_step(x_t, s[0], w, variant=self.variant).h_t   # validated in _prepare
        return (h,), h
