"""Checks for the GRU chapter's exercises (slides 16, 17).

Signatures the exercises ask for:

* ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form, w as in :data:`companion.cells.GRU_WEIGHTS`:
  h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t, with r_t applied before W_hh: W_hh (r_t * h_{t-1}).
* ``to_lecture_z(params) -> dict``: a torch.nn.GRU's parameters (``weight_ih_l{k}`` (3H, D_k),
  ``weight_hh_l{k}`` (3H, H), ``bias_ih_l{k}`` (3H,), ``bias_hh_l{k}`` (3H,), and ``..._reverse``
  for a bidirectional GRU; gate blocks in torch's order r, z, n) turned into parameters whose
  update gate is the slides' z: the z blocks (rows H..2H) of every parameter negated, everything
  else unchanged, since σ(-a) = 1 - σ(a).
* ``update_gate_from_states(h_prev, h_tilde, h_t) -> z_t``: the slides' update gate read off a
  GRU step, knowing h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t.
* ``gru_num_parameters(D, H, num_layers=1, bidirectional=False) -> int``: the number of scalar
  parameters of ``torch.nn.GRU(D, H, num_layers, bidirectional=...)``.

Every check draws fresh random inputs on each call, compares with companion and names the likely
slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import sigmoid
from ..layers import GRU
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    batches,
    grading_check,
    gru_case,
    make_rng,
    registry,
    run_check,
    single,
    size,
    vec,
)

__all__ = ["check_gru_step", "check_to_lecture_z", "check_update_gate_from_states", "check_gru_num_parameters",
           "CHECKS"]


# --------------------------------------------------------------------------- GRU step (slides' form)

@grading_check
def check_gru_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form (slide 16):
    h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t, h_tilde_t = tanh(W_xh x_t + b_xh + W_hh (r_t * h_{t-1}) + b_hh)."""
    rng = make_rng(seed)
    ref = lambda x, h, w: {"h_t": cells.gru_step(x, h, w, variant="lecture").h_t}

    def z_swapped(x, h, w):
        s = cells.gru_step(x, h, w, variant="lecture")
        return {"h_t": s.z_t * h + (1 - s.z_t) * s.h_tilde_t}

    def reset_after(x, h, w):
        s = cells.gru_step(x, h, w, variant="torch")
        return {"h_t": s.z_t * s.h_tilde_t + (1 - s.z_t) * h}

    slips = [("z_t and 1 - z_t swapped: in the slides z_t weights the new candidate h_tilde_t "
              "(torch.nn.GRU and Cho et al. use the opposite convention)", z_swapped),
             ("the reset gate is applied after the product, r_t * (W_hh h_{t-1} + b_hh), as torch does; "
              "the slides apply it before: W_hh (r_t * h_{t-1})", reset_after),
             ("torch.nn.GRU's form: both z's role and the place of r_t differ from the slides",
              lambda x, h, w: {"h_t": cells.gru_step(x, h, w, variant="torch").h_t})]
    return run_check("GRU step (slides' form)", fn, batches(rng, gru_case), single("h_t"), ref, slips)


# --------------------------------------------------------------------------- torch's z -> the slides' z

def _torch_params(rng, L=None, bi=None):
    """Random parameters with torch.nn.GRU's names and shapes (1 or 2 layers, 1 or 2 directions)."""
    D, H = size(rng, 2, 6), size(rng, 2, 6)
    L = size(rng, 1, 3) if L is None else L
    bi = bool(rng.integers(0, 2)) if bi is None else bi
    shapes = GRU(D, H, num_layers=L, bidirectional=bi, seed=0).params
    return {k: rng.normal(0, 0.5, v.shape) for k, v in shapes.items()}


def _negate_rows(p, rows, kinds=("weight", "bias"), how=lambda a: -a, layers=None):
    """p with rows(H) of every parameter whose name starts with one of kinds changed by how
    (only in the names ending with one of layers, when given)."""
    out = {k: np.array(v, dtype=np.float64) for k, v in p.items()}
    H = p["weight_hh_l0"].shape[1]
    for k in out:
        if k.startswith(kinds) and (layers is None or k.endswith(layers)):
            out[k][rows(H)] = how(out[k][rows(H)])
    return out


_Z = lambda H: slice(H, 2 * H)
_R = lambda H: slice(0, H)
_N = lambda H: slice(2 * H, 3 * H)
_ALL = lambda H: slice(0, 3 * H)


@grading_check
def check_to_lecture_z(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``to_lecture_z(params) -> dict``: in every layer and direction, rows H..2H (torch's z
    blocks W_iz, W_hz, b_iz, b_hz) of every parameter negated, the r and n blocks unchanged."""
    rng = make_rng(seed)
    cases = [(_torch_params(rng, 1, False),), (_torch_params(rng, 1, False),),
             (_torch_params(rng, 2, False),), (_torch_params(rng, 1, True),), (_torch_params(rng, 2, True),)]

    def unpack(r, case):
        keys = list(case.args[0])       # this case's parameter names
        if not isinstance(r, dict):
            raise ValueError(f"expected a dict of parameters, got {type(r).__name__}")
        missing = [k for k in keys if k not in r]
        if missing:
            raise ValueError(f"the returned dict has no {', '.join(missing)} "
                             "(return every parameter, changed or not)")
        return {k: r[k] for k in keys}

    slips = [
        ("you negated the first block (rows 0..H): torch stacks the gates as r, z, n, "
         "so z is the second block, rows H..2H", lambda p: _negate_rows(p, _R)),
        ("you negated the third block (rows 2H..3H), the candidate n; z is the second block, rows H..2H",
         lambda p: _negate_rows(p, _N)),
        ("only the weights are negated: b_iz and b_hz must change sign too, "
         "since sigma(-a) = 1 - sigma(a) needs the whole pre-activation a negated",
         lambda p: _negate_rows(p, _Z, kinds=("weight",))),
        ("only the biases are negated: W_iz and W_hz must change sign too",
         lambda p: _negate_rows(p, _Z, kinds=("bias",))),
        ("1 - W is not -W: 1 - sigma(a) = sigma(-a) asks for the pre-activation negated, "
         "i.e. every z weight and bias times -1", lambda p: _negate_rows(p, _Z, how=lambda a: 1 - a)),
        ("you negated every block: only z changes its role; r and n stay as they are",
         lambda p: _negate_rows(p, _ALL)),
        ("every layer and direction has its own z blocks: negate rows H..2H of all of them, "
         "not only those of layer 0", lambda p: _negate_rows(p, _Z, layers=("_l0",))),
    ]
    return run_check("torch's z -> the slides' z", fn, cases, unpack, lambda p: _negate_rows(p, _Z), slips)


# --------------------------------------------------------------------------- the update gate from the states

def _states_case(rng, B):
    H = size(rng, 2, 6)
    h_prev = np.tanh(vec(rng, B, H))
    # a candidate at least 0.2 away from h_prev (towards the other side), inside (-1, 1)
    h_tilde = h_prev - np.where(h_prev >= 0, 1.0, -1.0) * rng.uniform(0.2, 0.8, h_prev.shape)
    z = sigmoid(vec(rng, B, H, 2.0))
    h_t = (1 - z) * h_prev + z * h_tilde
    return (h_prev, h_tilde, h_t)


@grading_check
def check_update_gate_from_states(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``update_gate_from_states(h_prev, h_tilde, h_t) -> z_t`` with
    h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t (the slides' z: the weight of the candidate)."""
    rng = make_rng(seed)
    z_of = lambda hp, ht_, h: (h - hp) / (ht_ - hp)
    ref = lambda hp, ht_, h: {"z_t": z_of(hp, ht_, h)}
    slips = [("you returned 1 - z_t, the weight of the old state h_{t-1} (torch's z); in the slides "
              "z_t weights the candidate: z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1})",
              lambda hp, ht_, h: {"z_t": 1 - z_of(hp, ht_, h)}),
             ("measure both distances from h_{t-1}: z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1}), "
              "not (h_t - h_{t-1}) / h_tilde_t", lambda hp, ht_, h: {"z_t": (h - hp) / ht_}),
             ("z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1}): your numerator or denominator has the "
              "opposite sign", lambda hp, ht_, h: {"z_t": -z_of(hp, ht_, h)})]
    with np.errstate(all="ignore"):
        return run_check("update gate from the states", fn, [_states_case(rng, B) for B in (None, None, 3, 4)],
                         single("z_t"), ref, slips)


# --------------------------------------------------------------------------- parameter count

def _count(D, H, L, bi, *, gates=3, biases=2, upper_in=None):
    """Parameter count of a stacked GRU-like layer, with switches that reproduce the usual slips."""
    nd = 2 if bi else 1
    total = 0
    for layer in range(L):
        d_in = D if layer == 0 else (upper_in(D, H, nd) if upper_in else nd * H)
        total += nd * gates * (H * d_in + H * H + biases * H)
    return total


@grading_check
def check_gru_num_parameters(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``gru_num_parameters(D, H, num_layers=1, bidirectional=False) -> int`` against
    ``companion.GRU(D, H, num_layers, bidirectional=...).num_parameters()`` (torch.nn.GRU's count)."""
    rng = make_rng(seed)
    configs = [(1, False), (1, False), (2, False), (1, True), (3, True)]
    ref = lambda D, H, L, bi: {"count": np.array(float(
        GRU(D, H, num_layers=L, bidirectional=bi, seed=0).num_parameters()))}
    slip = lambda **kw: (lambda D, H, L, bi: {"count": np.array(float(_count(D, H, L, bi, **kw)))})
    slips = [("one bias per gate: torch.nn.GRU keeps two, b_i* and b_h*, so each gate has "
              "H*D + H*H + 2H parameters", slip(biases=1)),
             ("that is the LSTM's count (4 blocks); the GRU has 3: r, z and the candidate", slip(gates=4)),
             ("that is the vanilla RNN's count (1 block); the GRU has 3: r, z and the candidate",
              slip(gates=1)),
             ("the layers above the first read the layer below's output, of size H "
              "(2H when bidirectional), not the input size D", slip(upper_in=lambda D, H, nd: D)),
             ("a bidirectional layer's output has size 2H: the next layer's input weights are (3H, 2H)",
              slip(upper_in=lambda D, H, nd: H)),
             ("bidirectional=True doubles every layer: a forward and a reverse direction, each with "
              "its own parameters", lambda D, H, L, bi: {"count": np.array(float(_count(D, H, L, False)))}),
             ("the bias terms are missing: each gate has H*D + H*H weights plus 2H biases",
              slip(biases=0))]

    def telling(D, H, L, bi):
        # Sizes that tell the slips apart: on this case, every slip that is wrong gives a count
        # of its own (with D == H, or D == 2H, two slips can give the same wrong number, and the
        # hint would name the first of them, not the student's).
        right = ref(D, H, L, bi)["count"]
        wrong = [float(f(D, H, L, bi)["count"]) for _, f in slips]
        wrong = [w for w in wrong if w != right]
        return len(set(wrong)) == len(wrong)

    cases = []
    for L, bi in configs:
        while True:
            D, H = size(rng, 2, 40), size(rng, 2, 40)
            if D != H and telling(D, H, L, bi):   # D == H hides "D where H belongs"
                break
        cases.append((D, H, L, bi))
    return run_check("GRU parameter count", fn, cases, lambda r, case: {"count": np.array(r)}, ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _gru_by_hand(x, h, w, z_weights_old=False):
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    h_tilde = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
    return z * h + (1 - z) * h_tilde if z_weights_old else (1 - z) * h + z * h_tilde


def _to_lecture_z(params):
    out = {k: v.copy() for k, v in params.items()}
    H = params["weight_hh_l0"].shape[1]
    for v in out.values():
        v[H:2 * H] *= -1
    return out


def _to_lecture_z_weights_only(params):
    out = {k: v.copy() for k, v in params.items()}
    H = params["weight_hh_l0"].shape[1]
    for k, v in out.items():
        if k.startswith("weight"):
            v[H:2 * H] *= -1
    return out


def _gru_num_parameters(D, H, num_layers=1, bidirectional=False):
    nd = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        d_in = D if layer == 0 else nd * H
        total += nd * 3 * (H * d_in + H * H + 2 * H)
    return total


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_gru_step, _gru_by_hand,
             (Wrong(lambda x, h, w: _gru_by_hand(x, h, w, z_weights_old=True), "z_t and 1 - z_t swapped"),)),
    Exercise(check_to_lecture_z, _to_lecture_z, (Wrong(_to_lecture_z_weights_only, "only the weights"),)),
    Exercise(check_update_gate_from_states, lambda hp, ht, h: (h - hp) / (ht - hp),
             (Wrong(lambda hp, ht, h: (ht - h) / (ht - hp), "you returned 1 - z_t"),)),
    Exercise(check_gru_num_parameters, _gru_num_parameters,
             (Wrong(lambda D, H, num_layers=1, bidirectional=False: _gru_num_parameters(D, H, num_layers),
                    "doubles every layer"),)),
)
