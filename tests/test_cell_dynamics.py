"""companion.cell_dynamics: the steps of C and h (slide 13), proved on companion's own LSTM."""
from __future__ import annotations

import numpy as np
import pytest

import companion
from companion import cells
from companion.cell_dynamics import cell_bound, cell_step, group_separation, h_step_parts, steady_drift_share


def lstm_traces(seed=0, T=40, B=5, D=3, H=4, scale=1.0, forget_shift=0.0, batch_first=False):
    """Traces of a companion.LSTM with weights times ``scale`` on random inputs."""
    layer = companion.LSTM(D, H, seed=seed, batch_first=batch_first)
    for k in layer.params:
        layer.params[k] *= scale
    layer.params["bias_ih_l0"][H:2 * H] += forget_shift
    shape = (B, T, D) if batch_first else (T, B, D)
    layer(np.random.default_rng(seed + 1).standard_normal(shape))
    return layer.traces["l0"]


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (3.0, 0.0), (2.0, 3.0)])
def test_h_step_splits_exactly_and_the_cell_part_never_exceeds_the_cell_step(scale, shift):
    tr = lstm_traces(scale=scale, forget_shift=shift)
    s = h_step_parts(tr["C"], tr["o"])
    assert s.dC.shape == s.dh.shape == s.cell.shape == s.gate.shape == (39, 5, 4)
    np.testing.assert_allclose(s.dh, np.diff(tr["h"], axis=0), rtol=0, atol=1e-14)   # h = o tanh(C)
    np.testing.assert_allclose(s.cell + s.gate, s.dh, rtol=0, atol=1e-14)
    np.testing.assert_allclose(s.dC, np.diff(tr["C"], axis=0), rtol=0, atol=0)
    assert (np.abs(s.cell) <= np.abs(s.dC) + 1e-15).all()      # tanh is 1-Lipschitz, 0 < o < 1


def test_h_step_along_another_axis():
    tr = lstm_traces(batch_first=True)                          # (B, T, H)
    s = h_step_parts(tr["C"], tr["o"], axis=1)
    np.testing.assert_allclose(s.dh, np.diff(tr["h"], axis=1), rtol=0, atol=1e-14)
    s_neg = h_step_parts(tr["C"], tr["o"], axis=-2)
    np.testing.assert_array_equal(s_neg.gate, s.gate)


def test_h_outruns_c_only_through_the_output_gate():
    """Where |dh| > |dC|, the gate part is what makes the difference: |gate| >= |dh| - |dC|."""
    tr = lstm_traces(scale=2.0, forget_shift=3.0, T=80)
    s = h_step_parts(tr["C"], tr["o"])
    faster = np.abs(s.dh) > np.abs(s.dC)
    assert faster.any()
    assert (np.abs(s.gate)[faster] >= (np.abs(s.dh) - np.abs(s.dC))[faster] - 1e-15).all()
    # and with a constant output gate h can never move more than C
    const = h_step_parts(tr["C"], np.full_like(tr["o"], 0.7))
    assert (np.abs(const.dh) <= np.abs(const.dC) + 1e-15).all()
    assert not const.gate.any()


def test_cell_step_is_the_update_of_slide_10_and_can_exceed_one():
    w = companion.LSTM(3, 2, seed=0).cell_weights()
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal(3), rng.uniform(-0.5, 0.5, 2)
    for C_prev in (np.array([1.5, -0.8]), np.array([3.0, -3.0])):
        s = cells.lstm_step(x, h, C_prev, w)
        np.testing.assert_allclose(cell_step(s.f_t, s.i_t, s.C_tilde_t, C_prev), s.C_t - C_prev, atol=1e-15)
    assert np.abs(s.i_t * s.C_tilde_t).max() < 1 < np.abs(s.C_t - C_prev).max()   # erasing a large cell


def test_steady_drift_share():
    T = np.arange(1, 11, dtype=float)[:, None]
    ramp = np.hstack([0.3 * np.ones_like(T), -2.0 * np.ones_like(T)])           # (10, 2): constant steps
    assert steady_drift_share(ramp) == pytest.approx(1.0)
    wiggle = np.where(np.arange(10) % 2 == 0, 1.0, -1.0)[:, None] * np.ones((1, 2))
    assert steady_drift_share(wiggle) == pytest.approx(0.0, abs=1e-15)
    # slope 1 plus +-1: half the sum of squares is the slope
    assert steady_drift_share(1.0 + wiggle) == pytest.approx(0.5)
    assert steady_drift_share(ramp.T, axis=1) == pytest.approx(1.0)


def test_group_separation_by_hand():
    states = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 2.0]])     # groups 0, 0, 1, 1
    groups = np.array([0, 0, 1, 1])
    between, within = group_separation(states, groups)
    # means (1, 0) and (10, 1): distance sqrt(81 + 1); every state lies 1 from its mean
    assert between == pytest.approx(np.sqrt(82.0))
    assert within == pytest.approx(1.0)
    # extra axes (e.g. time) are kept: (n, T, H) -> (T,)
    seq = np.stack([states, 2 * states], axis=1)
    b2, w2 = group_separation(seq, groups)
    assert b2.shape == w2.shape == (2,)
    np.testing.assert_allclose(b2, [np.sqrt(82.0), 2 * np.sqrt(82.0)])
    np.testing.assert_allclose(w2, [1.0, 2.0])
    # the smallest distance over pairs of groups counts
    three = np.array([[0.0], [1.0], [5.0]])
    assert group_separation(three, np.array([0, 1, 2]))[0] == pytest.approx(1.0)


def test_cell_bound_holds_and_is_reached():
    # f_t, i_t -> 1 and C_tilde_t -> 1: the cell ramps by (almost) 1 per step, the bound |C_0| + t
    layer = companion.LSTM(1, 1, seed=0)
    layer.params["bias_ih_l0"][:] = [30.0, 30.0, 30.0, 30.0]                   # i, f, g, o all saturated
    layer(np.zeros((50, 1)))
    C = layer.traces["l0"]["C"][:, 0]
    t = np.arange(1, 51)
    assert (np.abs(C) <= cell_bound(t)).all()
    assert np.abs(C[-1]) > 0.999 * cell_bound(50)
    # with forget gates below f_max < 1 the cell stays below f_max^t |C_0| + (1 - f_max^t) / (1 - f_max)
    for scale, shift in [(1.0, 0.0), (3.0, 2.0), (2.0, 4.0)]:
        tr = lstm_traces(scale=scale, forget_shift=shift, T=60)
        f_max = tr["f"].max()
        t = np.arange(1, 61)[:, None, None]
        assert (np.abs(tr["C"]) <= cell_bound(t, f_max=f_max)).all()
        assert (np.abs(tr["C"]) <= 1.0 / (1.0 - f_max)).all()
    np.testing.assert_allclose(cell_bound([0, 1, 2], C0=-2.0, f_max=0.5), [2.0, 2.0, 2.0])   # 1/(1 - 0.5) = 2
    # from any |C_0| <= 1 / (1 - f_max) the bound never exceeds 1 / (1 - f_max), and tends to it
    t = np.arange(0, 200)
    for C0 in (0.0, 3.0, 10.0):
        b = cell_bound(t, C0=C0, f_max=0.9)
        assert (b <= 10.0 + 1e-12).all() and b[-1] == pytest.approx(10.0)


@pytest.mark.parametrize("call, match", [
    (lambda: h_step_parts(np.zeros((3, 2)), np.zeros((3, 3))), "o: expected the shape"),
    (lambda: h_step_parts(np.zeros((1, 2)), np.zeros((1, 2))), "at least 2 time steps"),
    (lambda: h_step_parts(np.zeros((3, 2)), np.zeros((3, 2)), axis=2), "axis"),
    (lambda: h_step_parts(np.full((3, 2), np.nan), np.zeros((3, 2))), "C: expected finite"),
    (lambda: steady_drift_share(np.zeros((4, 2))), "non-zero"),
    (lambda: group_separation(np.zeros((4, 2)), np.zeros(4, int)), "at least 2 different"),
    (lambda: group_separation(np.zeros((4, 2)), np.zeros(3, int)), "groups: expected 4"),
    (lambda: group_separation(np.zeros(4), np.arange(4)), "states: expected shape"),
    (lambda: cell_bound(3, f_max=0.0), "f_max"),
    (lambda: cell_bound(-1), "t: expected"),
])
def test_bad_input_is_refused_with_its_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()
