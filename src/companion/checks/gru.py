"""Checks for the GRU chapter's exercises (slides 16, 17).

Signatures the exercises ask for (names follow :data:`companion.cells.GRU_WEIGHTS`; row vectors,
one example (n,) or a batch (B, n)):

* ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form:
  h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t, with r_t applied before W_hh: W_hh (r_t * h_{t-1}).
* ``update_gate_from_states(h_prev, h_tilde, h_t) -> z_t``: the slides' update gate read off a
  GRU step, knowing h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t.
* ``torch_gru_step(x_t, h_prev, params) -> h_t``: one step of ``torch.nn.GRU`` from the
  parameters of a one-layer torch GRU under torch's names (``weight_ih_l0`` (3H, D),
  ``weight_hh_l0`` (3H, H), ``bias_ih_l0`` and ``bias_hh_l0`` (3H,), blocks in the order
  r, z, n): h_t = (1 - z_t) * n_t + z_t * h_{t-1}, n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn)).
* ``gru_step_backward(dh_t, x_t, h_prev, w) -> (dh_prev, da_z)``: the backward of one step in
  the slides' form, given dh_t = dL/dh_t: dL/dh_{t-1} along every path (the direct one, the
  update gate, the reset gate, the candidate through r_t * h_{t-1}) and dL/da_z, a_z the update
  gate's pre-activation W_hz h_{t-1} + W_xz x_t + b_z. The chapter derives only the direct term.
* ``gru_classifier_num_parameters(D, H, K, num_layers=1, bidirectional=False) -> int``: the
  parameters of ``torch.nn.GRU(D, H, num_layers, bidirectional=...)`` with the slides' output
  head o = c + V h (slide 5) on the last layer's output: V (K, num_directions * H), c (K,).

Every check draws fresh random inputs on each call, compares with companion's answer and names
the likely slip (see :mod:`companion.checks.core`). While the student's function runs, the
functions that already do its job (companion's cells and layers, torch's GRU, and for the
backward companion's finite differences and torch's autograd) are unavailable.
"""
from __future__ import annotations

import numpy as np

from .. import cells, gradcheck, layers
from ..activations import sigmoid
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    batches,
    grading_check,
    gru_case,
    gru_weights,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
    vec,
)

__all__ = ["check_gru_step", "check_update_gate_from_states", "check_torch_gru_step",
           "check_gru_step_backward", "check_gru_classifier_num_parameters",
           "reference_update_gate_from_states", "reference_gru_classifier_num_parameters", "CHECKS"]


def _torch_gru():
    """torch's functions that compute a GRU step (None where torch is not imported)."""
    return (torch_function("nn.GRU"), torch_function("nn.GRUCell"), torch_function("gru"),
            torch_function("gru_cell"))


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
    return run_check("GRU step (slides' form)", fn, batches(rng, gru_case), single("h_t"), ref, slips,
                     forbid=(cells.gru_step, cells._gru_step, layers.GRU, layers._gru_lecture_forward))


# --------------------------------------------------------------------------- the update gate from the states

def reference_update_gate_from_states(h_prev: np.ndarray, h_tilde: np.ndarray, h_t: np.ndarray) -> np.ndarray:
    """The check's own answer: the slides' z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1}), unit by unit."""
    return (h_t - h_prev) / (h_tilde - h_prev)


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
    z_of = reference_update_gate_from_states
    ref = lambda hp, ht_, h: {"z_t": z_of(hp, ht_, h)}
    slips = [("you returned 1 - z_t, the weight of the old state h_{t-1} (torch's z); in the slides "
              "z_t weights the candidate: z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1})",
              lambda hp, ht_, h: {"z_t": 1 - z_of(hp, ht_, h)}),
             ("measure both distances from h_{t-1}: z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1}), "
              "not (h_t - h_{t-1}) / h_tilde_t", lambda hp, ht_, h: {"z_t": (h - hp) / ht_}),
             ("z_t = (h_t - h_{t-1}) / (h_tilde_t - h_{t-1}): your numerator or denominator has the "
              "opposite sign", lambda hp, ht_, h: {"z_t": -z_of(hp, ht_, h)})]
    with np.errstate(all="ignore"):
        return run_check("update gate from the states", fn, batches(rng, _states_case), single("z_t"), ref,
                         slips, forbid=(reference_update_gate_from_states,))


# --------------------------------------------------------------------------- torch.nn.GRU's step

_R = lambda H: slice(0, H)
_Z = lambda H: slice(H, 2 * H)
_N = lambda H: slice(2 * H, 3 * H)


def _torch_layer_case(rng, B):
    """``Case(args=(x_t, h_prev, params))``: one torch.nn.GRU layer's parameters under torch's names."""
    D, H = size(rng), size(rng)
    w = gru_weights(rng, D, H)
    params = {"weight_ih_l0": np.concatenate([w["W_xr"], w["W_xz"], w["W_xh"]]),
              "weight_hh_l0": np.concatenate([w["W_hr"], w["W_hz"], w["W_hh"]]),
              "bias_ih_l0": rng.normal(0.0, 0.5, 3 * H), "bias_hh_l0": rng.normal(0.0, 0.5, 3 * H)}
    return Case((vec(rng, B, D), vec(rng, B, H, 0.5), params))


def _cell_weights(p, order=(_R, _Z, _N)):
    """torch's stacked parameters -> the names of companion.cells (gate blocks in ``order``)."""
    H = p["weight_hh_l0"].shape[1]
    Wi, Wh, bi, bh = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
    r, z, n = (blocks(H) for blocks in order)
    return {"W_xr": Wi[r], "W_hr": Wh[r], "b_r": bi[r] + bh[r], "W_xz": Wi[z], "W_hz": Wh[z], "b_z": bi[z] + bh[z],
            "W_xh": Wi[n], "W_hh": Wh[n], "b_xh": bi[n], "b_hh": bh[n]}


def _torch_step(x, h, p, *, role="torch", place="torch", order=(_R, _Z, _N), b_hn_inside=True,
                bias_hh=True):
    """torch.nn.GRU's step, with switches that reproduce the usual slips."""
    if not bias_hh:
        p = dict(p, bias_hh_l0=np.zeros_like(p["bias_hh_l0"]))
    w = _cell_weights(p, order)
    z = sigmoid(h @ w["W_hz"].T + x @ w["W_xz"].T + w["b_z"])
    r = sigmoid(h @ w["W_hr"].T + x @ w["W_xr"].T + w["b_r"])
    if place == "slides":
        rec = (r * h) @ w["W_hh"].T + w["b_hh"]
    elif b_hn_inside:
        rec = r * (h @ w["W_hh"].T + w["b_hh"])
    else:
        rec = r * (h @ w["W_hh"].T) + w["b_hh"]
    n = np.tanh(x @ w["W_xh"].T + w["b_xh"] + rec)
    return {"h_t": (1 - z) * n + z * h if role == "torch" else (1 - z) * h + z * n}


@grading_check
def check_torch_gru_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``torch_gru_step(x_t, h_prev, params) -> h_t``, torch.nn.GRU's step:
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}, n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn)),
    the blocks of ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` in the order r, z, n."""
    rng = make_rng(seed)
    ref = lambda x, h, p: {"h_t": cells.gru_step(x, h, _cell_weights(p), variant="torch").h_t}
    swapped = (_Z, _R, _N)
    slips = [("torch's z_t weights the OLD state: h_t = (1 - z_t) * n_t + z_t * h_{t-1}; you used the "
              "slides' role, (1 - z_t) * h_{t-1} + z_t * n_t", lambda x, h, p: _torch_step(x, h, p, role="slides")),
             ("torch applies the reset after the product, r_t * (W_hn h_{t-1} + b_hn); you applied it "
              "before, W_hn (r_t * h_{t-1}) + b_hn, as the slides do",
              lambda x, h, p: _torch_step(x, h, p, place="slides")),
             ("that is the slides' GRU (z weights the candidate, r before the product): torch differs in both",
              lambda x, h, p: _torch_step(x, h, p, role="slides", place="slides")),
             ("b_hn sits inside the reset: r_t * (W_hn h_{t-1} + b_hn), not r_t * (W_hn h_{t-1}) + b_hn",
              lambda x, h, p: _torch_step(x, h, p, b_hn_inside=False)),
             ("torch stacks the blocks in the order r, z, n: rows 0..H are the reset gate, "
              "rows H..2H the update gate", lambda x, h, p: _torch_step(x, h, p, order=swapped)),
             ("bias_hh_l0 is missing: torch adds both bias vectors, b_i* + b_h* (b_hn inside the reset)",
              lambda x, h, p: _torch_step(x, h, p, bias_hh=False))]
    return run_check("torch.nn.GRU's step", fn, batches(rng, _torch_layer_case), single("h_t"), ref, slips,
                     forbid=(cells.gru_step, cells._gru_step, layers.GRU, layers._gru_torch_forward, *_torch_gru()))


# --------------------------------------------------------------------------- the backward of one step

def _backward(dh, x, h, w, *, role="slides", sigma_prime=True, tanh_prime=True, direct=True,
              update_path=True, reset_path=True, rh_path=True, transpose=False):
    """dL/dh_{t-1} and dL/da_z of the slides' step, with switches that reproduce the usual slips."""
    z = sigmoid(h @ w["W_hz"].T + x @ w["W_xz"].T + w["b_z"])
    r = sigmoid(h @ w["W_hr"].T + x @ w["W_xr"].T + w["b_r"])
    n = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
    back = (lambda d, W: d @ W.T) if transpose else (lambda d, W: d @ W)
    keep, write = (1 - z, z) if role == "slides" else (z, 1 - z)      # the weights of h_{t-1} and of n
    dz = dh * (n - h) if role == "slides" else dh * (h - n)
    da_z = dz * z * (1 - z) if sigma_prime else dz
    da_n = dh * write * (1 - n ** 2) if tanh_prime else dh * write
    d_rh = back(da_n, w["W_hh"])
    dr = d_rh * h
    da_r = dr * r * (1 - r) if sigma_prime else dr
    dh_prev = (dh * keep if direct else 0) + (d_rh * r if rh_path else 0)
    dh_prev = dh_prev + (back(da_z, w["W_hz"]) if update_path else 0) + (back(da_r, w["W_hr"]) if reset_path else 0)
    return {"dh_prev": dh_prev, "da_z": da_z}


def _backward_case(rng, B):
    D, H = size(rng), size(rng)
    w = gru_weights(rng, D, H)
    return Case((vec(rng, B, H), vec(rng, B, D), vec(rng, B, H, 0.5), w))


def _backward_ref(dh, x, h, w):
    s = cells.gru_step(x, h, w, variant="lecture")
    g = cells.gru_step_backward(dh, x, h, s, w, variant="lecture")
    return {"dh_prev": g["dh_prev"], "da_z": dh * (s.h_tilde_t - h) * s.z_t * (1 - s.z_t)}


@grading_check
def check_gru_step_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``gru_step_backward(dh_t, x_t, h_prev, w) -> (dh_prev, da_z)`` for the slides' step:
    dh_prev = dL/dh_{t-1} along every path, da_z = dL/da_z with a_z = W_hz h_{t-1} + W_xz x_t + b_z."""
    rng = make_rng(seed)
    only = lambda key, **kw: (lambda *a: {key: _backward(*a, **kw)[key]})
    slips = [("z_t and 1 - z_t swapped: in the slides h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t, so the "
              "direct term is dh_t * (1 - z_t), the candidate gets dh_t * z_t and "
              "dL/dz_t = dh_t * (h_tilde_t - h_{t-1})", lambda *a: _backward(*a, role="torch")),
             ("sigma' is missing: a gate's pre-activation gets dL/dgate * gate * (1 - gate)",
              lambda *a: _backward(*a, sigma_prime=False)),
             ("da_z: the update gate's sigmoid has a derivative too: da_z = dL/dz_t * z_t * (1 - z_t)",
              only("da_z", sigma_prime=False)),
             ("da_z: dh_t/dz_t = h_tilde_t - h_{t-1} (the new content minus the old): your sign is the "
              "opposite", only("da_z", role="torch")),
             ("tanh' is missing: the candidate's pre-activation gets dL/dh_tilde_t * (1 - h_tilde_t^2)",
              lambda *a: _backward(*a, tanh_prime=False)),
             ("the direct term is missing: h_{t-1} also enters h_t as (1 - z_t) * h_{t-1}, which adds "
              "dh_t * (1 - z_t)", lambda *a: _backward(*a, direct=False)),
             ("you forgot the path through the reset gate: r_t reads h_{t-1}, which adds da_r @ W_hr "
              "(da_r = dL/d(r_t * h_{t-1}) * h_{t-1} * r_t * (1 - r_t))", lambda *a: _backward(*a, reset_path=False)),
             ("you forgot the path through the update gate: z_t reads h_{t-1}, which adds da_z @ W_hz",
              lambda *a: _backward(*a, update_path=False)),
             ("the candidate reads h_{t-1} through r_t * h_{t-1}: that path adds "
              "(da_candidate @ W_hh) * r_t", lambda *a: _backward(*a, rh_path=False)),
             ("the gradient goes back through W^T: with rows, a forward x @ W.T gives a backward d @ W "
              "(you multiplied by W.T)", lambda *a: _backward(*a, transpose=True))]
    forbid = (cells.gru_step_backward, layers.GRU, layers._gru_lecture_backward, layers._gru_torch_backward,
              gradcheck.numerical_grad, torch_function("autograd.grad"), torch_function("autograd.backward"))
    return run_check("backward of a GRU step (slides' form)", fn, batches(rng, _backward_case),
                     tuple_of("dh_prev", "da_z"), _backward_ref, slips, forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- parameter count, with a head

def reference_gru_classifier_num_parameters(D: int, H: int, K: int, num_layers: int = 1,
                                            bidirectional: bool = False) -> int:
    """The check's own answer: ``torch.nn.GRU(D, H, num_layers, bidirectional=...)`` (three blocks
    of H*D_in + H*H + 2H per layer and direction, D_in = D for the first layer and
    num_directions * H above it) plus the head V (K, num_directions * H), c (K,)."""
    return _count(D, H, K, num_layers, bidirectional)


def _count(D, H, K, L, bi, *, gates=3, biases=2, upper_in=None, directions=None, head_in=None, head_bias=1):
    """The count, with switches that reproduce the usual slips."""
    nd = (2 if bi else 1) if directions is None else directions
    total = 0
    for layer in range(L):
        d_in = D if layer == 0 else (upper_in(D, H, nd) if upper_in else nd * H)
        total += nd * gates * (H * d_in + H * H + biases * H)
    return total + K * (nd * H if head_in is None else head_in(H, nd)) + head_bias * K


def _number(r, case):
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer, float, np.floating)):
        raise ValueError(f"expected a number, got {type(r).__name__}")
    return {"count": np.asarray(r, dtype=np.float64)}


@grading_check
def check_gru_classifier_num_parameters(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``gru_classifier_num_parameters(D, H, K, num_layers=1, bidirectional=False) -> int``:
    ``torch.nn.GRU(D, H, num_layers, bidirectional=...)`` plus the head o = c + V h on its output."""
    rng = make_rng(seed)
    configs = [(2, True), (1, False), (2, False), (1, True), (3, True)]
    num = lambda v: {"count": np.asarray(float(v))}
    ref = lambda D, H, K, L, bi: num(reference_gru_classifier_num_parameters(D, H, K, L, bi))
    slip = lambda **kw: (lambda D, H, K, L, bi: num(_count(D, H, K, L, bi, **kw)))
    slips = [("the head reads the last layer's output, of size 2H when bidirectional (both directions "
              "concatenated): V is (K, 2H)", slip(head_in=lambda H, nd: H)),
             ("the head's bias c (K,) is missing", slip(head_bias=0)),
             ("the classification head is missing: V (K, num_directions * H) and c (K,) are parameters too",
              slip(head_in=lambda H, nd: 0, head_bias=0)),
             ("one bias per gate: torch.nn.GRU keeps two, b_i* and b_h*, so each block has "
              "H*D_in + H*H + 2H parameters", slip(biases=1)),
             ("that is the LSTM's count (4 blocks); the GRU has 3: r, z and the candidate", slip(gates=4)),
             ("that is the vanilla RNN's count (1 block); the GRU has 3: r, z and the candidate",
              slip(gates=1)),
             ("the layers above the first read the layer below's output, of size H "
              "(2H when bidirectional), not the input size D", slip(upper_in=lambda D, H, nd: D)),
             ("a bidirectional layer's output has size 2H: the next layer's input weights are (3H, 2H)",
              slip(upper_in=lambda D, H, nd: H)),
             ("bidirectional=True doubles every layer: a forward and a reverse direction, each with "
              "its own parameters", lambda D, H, K, L, bi: num(_count(D, H, K, L, bi, directions=1,
                                                                   head_in=lambda H, nd: (2 if bi else 1) * H))),
             ("bidirectional=True changes three things: two directions per layer, each with its own "
              "parameters; layers above the first read 2H; the head reads 2H",
              lambda D, H, K, L, bi: num(_count(D, H, K, L, False))),
             ("the GRU's bias terms are missing: each block has H*D_in + H*H weights plus 2H biases",
              slip(biases=0))]

    def telling(D, H, K, L, bi):
        # Sizes that tell the slips apart: every slip that is wrong on this case gives a count of
        # its own (else the hint could name another slip than the student's).
        right = ref(D, H, K, L, bi)["count"]
        wrong = [float(f(D, H, K, L, bi)["count"]) for _, f in slips]
        wrong = [v for v in wrong if v != right]
        return len(set(wrong)) == len(wrong)

    cases = []
    for L, bi in configs:
        while True:
            D, H, K = size(rng, 2, 40), size(rng, 2, 40), size(rng, 2, 40)
            if len({D, H, K}) == 3 and telling(D, H, K, L, bi):   # D == H hides "D where H belongs"
                break
        cases.append((D, H, K, L, bi))
    forbid = (reference_gru_classifier_num_parameters, layers.GRU, torch_function("nn.GRU"))
    return run_check("parameters of a GRU classifier", fn, cases, _number, ref, slips, forbid=forbid)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _gru_by_hand(x, h, w, z_weights_old=False):
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    h_tilde = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
    return z * h + (1 - z) * h_tilde if z_weights_old else (1 - z) * h + z * h_tilde


def _torch_gru_by_hand(x, h, p, reset_before=False):
    H = p["weight_hh_l0"].shape[1]
    gi = x @ p["weight_ih_l0"].T + p["bias_ih_l0"]
    W_hn = p["weight_hh_l0"][2 * H:]
    gh = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
    r = sigmoid(gi[..., :H] + gh[..., :H])
    z = sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
    rec = (r * h) @ W_hn.T + p["bias_hh_l0"][2 * H:] if reset_before else r * gh[..., 2 * H:]
    n = np.tanh(gi[..., 2 * H:] + rec)
    return (1 - z) * n + z * h


def _gru_backward_by_hand(dh, x, h, w, forget_reset=False, no_sigma_prime=False):
    z = sigmoid(x @ w["W_xz"].T + h @ w["W_hz"].T + w["b_z"])
    r = sigmoid(x @ w["W_xr"].T + h @ w["W_hr"].T + w["b_r"])
    h_tilde = np.tanh(x @ w["W_xh"].T + w["b_xh"] + (r * h) @ w["W_hh"].T + w["b_hh"])
    dz = dh * (h_tilde - h)
    da_z = dz if no_sigma_prime else dz * z * (1 - z)
    da_h = dh * z * (1 - h_tilde ** 2)              # the candidate's pre-activation
    d_rh = da_h @ w["W_hh"]                         # dL/d(r_t * h_{t-1})
    da_r = d_rh * h if no_sigma_prime else d_rh * h * r * (1 - r)
    dh_prev = dh * (1 - z) + d_rh * r + da_z @ w["W_hz"]
    if not forget_reset:
        dh_prev = dh_prev + da_r @ w["W_hr"]
    return dh_prev, da_z


def _classifier_count(D, H, K, num_layers=1, bidirectional=False, head_reads=None):
    nd = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        D_in = D if layer == 0 else nd * H
        total += nd * 3 * (H * D_in + H * H + 2 * H)
    return total + K * (nd * H if head_reads is None else head_reads) + K


def _copy_backward(dh, x, h, w):
    g = cells.gru_step_backward(dh, x, h, cells.gru_step(x, h, w), w)
    s = cells.gru_step(x, h, w)
    return g["dh_prev"], dh * (s.h_tilde_t - h) * s.z_t * (1 - s.z_t)


#: the checks of this module: each with a correct answer, hand-written wrong ones, and one that
#: copies the function the check forbids
CHECKS = registry(
    Exercise(check_gru_step, _gru_by_hand,
             (Wrong(lambda x, h, w: _gru_by_hand(x, h, w, z_weights_old=True), "z_t and 1 - z_t swapped"),),
             chapter="08", kind="recall", points=2,
             skill="slide 16's four equations as batched numpy code: z_t weights the candidate, r_t acts before W_hh",
             copying=lambda x, h, w: cells.gru_step(x, h, w, variant="lecture").h_t),
    Exercise(check_update_gate_from_states, lambda hp, ht, h: (h - hp) / (ht - hp),
             (Wrong(lambda hp, ht, h: (ht - h) / (ht - hp), "you returned 1 - z_t"),),
             chapter="08", kind="recall", points=2,
             skill="reads z_t as the fraction of the way from h_{t-1} to the candidate (the slides' convention)",
             copying=lambda hp, ht, h: reference_update_gate_from_states(hp, ht, h)),
    Exercise(check_torch_gru_step, _torch_gru_by_hand,
             (Wrong(lambda x, h, p: _torch_gru_by_hand(x, h, p, reset_before=True), "after the product"),),
             chapter="08", kind="apply", points=2,
             skill="computes torch.nn.GRU's step from its stacked r, z, n parameters: z weights the old state, "
                   "the reset acts after W_hn, b_hn inside it",
             copying=lambda x, h, p: cells.gru_step(x, h, _cell_weights(p), variant="torch").h_t),
    Exercise(check_gru_step_backward, _gru_backward_by_hand,
             (Wrong(lambda *a: _gru_backward_by_hand(*a, forget_reset=True), "path through the reset gate"),
              Wrong(lambda *a: _gru_backward_by_hand(*a, no_sigma_prime=True), "sigma' is missing")),
             chapter="08", kind="transfer", points=3,
             skill="derives the backward of a GRU step the chapter did not derive: dL/dh_{t-1} along all four "
                   "paths and the update gate's dL/da_z",
             copying=_copy_backward),
    Exercise(check_gru_classifier_num_parameters, _classifier_count,
             (Wrong(lambda D, H, K, num_layers=1, bidirectional=False:
                    _classifier_count(D, H, K, num_layers, bidirectional, head_reads=H), "of size 2H"),),
             chapter="08", kind="apply", points=2,
             skill="counts a stacked bidirectional GRU with a classification head, a configuration the page "
                   "did not count",
             copying=lambda D, H, K, num_layers=1, bidirectional=False:
                 reference_gru_classifier_num_parameters(D, H, K, num_layers, bidirectional)),
)
