"""companion.checks.lstm: each known slip is named. Every wrong answer is written here by hand, with
numpy, not with the module's own slip generators, so a wrong generator is caught."""
import numpy as np
import pytest

from companion import cells, sigmoid
from companion.checks import lstm as L

from check_helpers import hint_of

# --------------------------------------------------------------------------- by hand


def lstm_step(x, h, C, w, *, gate=sigmoid, cand=np.tanh, out=np.tanh, gates_read_C=False, swap_if=False):
    """The LSTM step of slide 10, with switches for the usual slips."""
    read, keep = (C, h) if gates_read_C else (h, C)       # the slip: C_{t-1} where h_{t-1} belongs
    a = {g: read @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    f, i, o = gate(a["f"]), gate(a["i"]), gate(a["o"])
    if swap_if:
        f, i = i, f
    C_t = f * keep + i * cand(a["C"])
    return o * out(C_t), C_t


def peephole_step(x, h, C, w, *, o_reads_old=False, drop="", peep_at_h=False):
    """Slide 12 with diagonal peepholes, with switches for the usual slips."""
    a = {g: h @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    peep = lambda g, c: 0.0 if g in drop else w[f"w_c{g}"] * c  # noqa: E731
    seen = h if peep_at_h else C
    f, i = sigmoid(a["f"] + peep("f", seen)), sigmoid(a["i"] + peep("i", seen))
    C_t = f * C + i * np.tanh(a["C"])
    o = sigmoid(a["o"] + peep("o", C if o_reads_old else C_t))
    return o * np.tanh(C_t), C_t


def split(W_ih, W_hh, b_ih, b_hh, order="ifCo", add_hh=True):
    """torch's stacked blocks cut in ``order`` (the right one: i, f, g = C, o)."""
    Wx, Wh, bi, bh = (dict(zip(order, np.split(a, 4), strict=True)) for a in (W_ih, W_hh, b_ih, b_hh))
    w = {}
    for g in "ifCo":
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = Wx[g], Wh[g], bi[g] + bh[g] if add_hh else bi[g]
    return w


# --------------------------------------------------------------------------- forget gates


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),
    (lambda x, h, Wx, Wh, b: h @ Wh.T + x @ Wx.T + b, "returned the pre-activation"),
    (lambda x, h, Wx, Wh, b: sigmoid(h @ Wh.T + x @ Wx.T), "bias b_f is missing"),
    (lambda x, h, Wx, Wh, b: sigmoid(-(h @ Wh.T + x @ Wx.T + b)), "1 - f_t"),
])
def test_forget_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_forget_gate(wrong))


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, h, C, Wx, Wh, wc, b: sigmoid(h @ Wh.T + x @ Wx.T + b), "peephole term w_cf * C_{t-1} is missing"),
    (lambda x, h, C, Wx, Wh, wc, b: sigmoid(wc * h + h @ Wh.T + x @ Wx.T + b), "not at h_{t-1}"),
    (lambda x, h, C, Wx, Wh, wc, b: np.tanh(wc * C + h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),
])
def test_peephole_forget_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_peephole_forget_gate(wrong))


# --------------------------------------------------------------------------- LSTM steps


@pytest.mark.parametrize("kw, hint", [
    (dict(gates_read_C=True), "C_{t-1} used where h_{t-1} belongs"),
    (dict(swap_if=True), "f_t and i_t swapped"),
    (dict(cand=sigmoid), "sigmoid where tanh belongs for the candidate"),
    (dict(gate=np.tanh), "tanh where sigmoid belongs for the gates"),
    (dict(out=lambda c: c), "tanh of the cell is missing"),
    (dict(out=sigmoid), "sigmoid used instead of tanh on the cell"),
])
def test_lstm_step_slips_are_named(kw, hint):
    fb = L.check_lstm_step(lambda *a: lstm_step(*a, **kw))
    assert hint in hint_of(fb)
    assert "[" in str(fb)                # which output, and where


def test_lstm_step_by_hand_is_right():
    """The hand-written step above is the right one when no switch is set (else the slips prove nothing)."""
    assert L.check_lstm_step(lstm_step)
    assert L.check_peephole_lstm_step(peephole_step)
    assert L.check_split_gates(split)
    assert L.check_peephole_cell_backward(peephole_backward)


@pytest.mark.parametrize("kw, hint", [
    (dict(o_reads_old=True), "*new* cell C_t"),
    (dict(drop="fio"), "plain LSTM"),
    (dict(drop="o"), "output gate's peephole"),
    (dict(drop="i"), "input gate's peephole"),
    (dict(drop="f"), "forget gate's peephole"),
    (dict(peep_at_h=True), "not at h"),
])
def test_peephole_lstm_step_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_peephole_lstm_step(lambda *a: peephole_step(*a, **kw)))


# --------------------------------------------------------------------------- backward and slicing


@pytest.mark.parametrize("wrong, hint", [
    (lambda dC, f, i, Ct, Cp: (dC, dC * Cp, dC * Ct, dC * i), "factor f_t is missing"),
    (lambda dC, f, i, Ct, Cp: (dC * Cp, dC * f, dC * Ct, dC * i), "df_t swapped"),
    (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * i, dC * Ct), "dC_tilde_t swapped"),
    (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp * f * (1 - f), dC * Ct * i * (1 - i), dC * i * (1 - Ct ** 2)),
     "pre-activations"),
])
def test_cell_update_backward_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_cell_update_backward(wrong))


@pytest.mark.parametrize("kw, hint", [
    (dict(order="ifoC"), "you used i, f, o, g"),
    (dict(order="fiCo"), "you used f, i, g, o"),
    (dict(order="fioC"), "you used f, i, o, g"),
    (dict(add_hh=False), "bias_ih only"),
])
def test_split_gates_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_split_gates(lambda *a: split(*a, **kw)))


def peephole_backward(dC, f, i, Ct, Cp, wf, wi, *, sig=True, swap_w=False, swap_c=False, drop=""):
    """dL/dC_{t-1} through one diagonal peephole step, from the gate values, with switches for the slips."""
    if swap_w:
        wf, wi = wi, wf
    into_f, into_i = (Ct, Cp) if swap_c else (Cp, Ct)
    slope_f, slope_i = (f * (1 - f), i * (1 - i)) if sig else (1.0, 1.0)
    out = 0.0 if "d" in drop else dC * f
    if "f" not in drop:
        out = out + wf * dC * into_f * slope_f
    if "i" not in drop:
        out = out + wi * dC * into_i * slope_i
    return out


@pytest.mark.parametrize("kw, hint", [
    (dict(drop="fi"), "peephole terms are missing"),
    (dict(sig=False), "the sigmoid's slope included"),
    (dict(swap_w=True), "w_cf and w_ci swapped"),
    (dict(swap_c=True), "C_{t-1} and C_tilde_t swapped"),
    (dict(drop="i"), "input gate's term"),
    (dict(drop="f"), "forget gate's term"),
    (dict(drop="d"), "direct path"),
])
def test_peephole_cell_backward_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_peephole_cell_backward(lambda *a: peephole_backward(*a, **kw)))


def test_wrong_shapes_and_types_are_reported():
    fb = L.check_split_gates(lambda *a: [1, 2])
    assert not fb and "expected a dict" in str(fb)
    fb = L.check_split_gates(lambda *a: {"W_xi": 0})
    assert not fb and "missing keys" in str(fb)
    fb = L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp))
    assert not fb and "expected a tuple" in str(fb)
    fb = L.check_lstm_step(lambda x, h, C, w: lstm_step(x, h, C, w)[0])
    assert not fb and "expected a tuple (h_t, C_t)" in str(fb)
    fb = L.check_peephole_cell_backward(lambda dC, f, i, Ct, Cp, wf, wi: (dC * f)[..., :1])
    assert not fb and "expected shape" in str(fb)


def test_gates_in_range():
    """The check's cases draw gate values in (0, 1), as a sigmoid gives."""
    seen = []
    L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: seen.append((f, i)) or (dC * f, dC * Cp, dC * Ct, dC * i))
    assert seen and all(((f > 0) & (f < 1)).all() and ((i > 0) & (i < 1)).all() for f, i in seen)


def test_peephole_cases_use_diagonal_peepholes():
    seen = []
    L.check_peephole_lstm_step(lambda x, h, C, w: seen.append(w) or peephole_step(x, h, C, w))
    assert seen and all(w[k].shape == (w["b_f"].shape[0],) for w in seen for k in ("w_cf", "w_ci", "w_co"))


# --------------------------------------------------------------------------- the coupled-gate LSTM (06, transfer)


def coupled_backward(dh, dC_next, f, Ct, Cp, o, *, coupled=True, plus=False, sig=True, tanh_c=True,
                     through_f=False, h_path=True, h_tanh=True, forget=True):
    """The coupled-gate cell's backward, written out, with switches for the slips."""
    C = f * Cp + (1 - f) * Ct
    dC = dC_next
    if h_path:
        dC = dC + dh * o * ((1 - np.tanh(C) ** 2) if h_tanh else 1)
    df = dC * (Cp + Ct if plus else Cp - Ct if coupled else Cp)
    df_pre = df * f * (1 - f) if sig else df
    dCt_pre = dC * (f if through_f else 1 - f) * ((1 - Ct ** 2) if tanh_c else 1)
    return (dC * f if forget else dC), df_pre, dCt_pre


def coupled_forward(f_pre, Ct_pre, Cp, o):
    f, Ct = sigmoid(f_pre), np.tanh(Ct_pre)
    C = f * Cp + (1 - f) * Ct
    return C, o * np.tanh(C)


def test_coupled_reference_is_the_finite_difference():
    """The check's hand-derived reference equals central differences of L = sum(dh * h_t) + sum(dC * C_t)."""
    rng = np.random.default_rng(0)
    H = 4
    f_pre, Ct_pre, Cp, o = rng.normal(0, 1.5, H), rng.normal(0, 1, H), rng.normal(0, 1, H), sigmoid(rng.normal(0, 1, H))
    dh, dC = rng.normal(0, 1, H), rng.normal(0, 1, H)

    def loss(fp, cp, Cprev):
        C, h = coupled_forward(fp, cp, Cprev, o)
        return np.sum(dh * h) + np.sum(dC * C)

    def fd(k):
        g, eps = np.zeros(H), 1e-6
        for j in range(H):
            args = [f_pre.copy(), Ct_pre.copy(), Cp.copy()]
            args[k][j] += eps
            up = loss(*args)
            args[k][j] -= 2 * eps
            g[j] = (up - loss(*args)) / (2 * eps)
        return g

    ref = L.reference_coupled_gate_backward(dh, dC, sigmoid(f_pre), np.tanh(Ct_pre), Cp, o)
    for got, k in zip(ref, (2, 0, 1), strict=True):
        assert np.allclose(got, fd(k), rtol=1e-6, atol=1e-9)
    assert L.check_coupled_gate_backward(coupled_backward)


@pytest.mark.parametrize("kw, hint", [
    (dict(coupled=False), "forgot the -1 of 1 - f_t"),
    (dict(plus=True), "not (C_{t-1} + C_tilde_t)"),
    (dict(sig=False), "multiply by sigma'(a^f_t)"),
    (dict(tanh_c=False), "tanh' = 1 - C_tilde_t^2"),
    (dict(through_f=True), "through the input gate 1 - f_t"),
    (dict(h_path=False), "path through h_t = o_t * tanh(C_t) is missing"),
    (dict(h_tanh=False), "carries tanh' = 1 - tanh^2(C_t)"),
    (dict(forget=False), "passes the forget gate"),
])
def test_coupled_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_coupled_gate_backward(lambda *a: coupled_backward(*a, **kw)))


def test_backward_checks_refuse_companions_and_torchs_differentiation():
    from companion import gradcheck

    def by_finite_differences(dh, dC, f, Ct, Cp, o):
        x = Cp.copy()
        gradcheck.numerical_grad(lambda: 0.0, x)
        return coupled_backward(dh, dC, f, Ct, Cp, o)

    fb = L.check_coupled_gate_backward(by_finite_differences, seed=0)
    assert not fb and "numerical_grad, which already does this exercise's job" in str(fb)
    torch = pytest.importorskip("torch")

    def by_autograd(dh, dC, f, Ct, Cp, o):
        t = torch.tensor(Cp, requires_grad=True)
        (t * 2).sum().backward()
        return coupled_backward(dh, dC, f, Ct, Cp, o)

    fb = L.check_coupled_gate_backward(by_autograd, seed=0)
    assert not fb and "autograd" in str(fb) and "already does this exercise's job" in str(fb)
    assert L.check_coupled_gate_backward(coupled_backward, seed=0)


# --------------------------------------------------------------------------- the forget-bias experiment (06)


def measured_by_steps(b_f, T, seed):
    """The experiment's measurement written another way: the step functions of companion.cells,
    forward then backward one step at a time (the chapter's loop), not the layer's BPTT."""
    from companion import LSTM
    H = 8
    lay = LSTM(3, H, seed=seed)
    w = lay.cell_weights()
    w["b_f"] = np.full(H, float(b_f))
    x = np.random.default_rng(seed).standard_normal((T, 3))
    h, C, steps = np.zeros(H), np.zeros(H), []
    for t in range(T):
        steps.append((h, C, cells.lstm_step(x[t], h, C, w)))
        h, C = steps[-1][2].h_t, steps[-1][2].C_t
    dh, dC = np.zeros(H), np.ones(H)
    for t in reversed(range(T)):
        hp, Cp, st = steps[t]
        g = cells.lstm_step_backward(dh, dC, x[t], hp, Cp, st, w)
        dh, dC = g["dh_prev"], g["dC_prev"]
    return np.linalg.norm(dC) / np.sqrt(H)


def memory(b_fs, T, seed, *, measure=measured_by_steps, pick=min):
    kept = np.array([measure(b, T, seed) for b in b_fs])
    keeping = [b for b, k in zip(b_fs, kept, strict=True) if k >= 0.1]
    return kept, pick(keeping) if keeping else np.nan          # nan: no b_f keeps 10 %


def test_memory_reference_is_the_step_by_step_measurement():
    b_fs = np.array([9.0, -1.0, 2.0, 0.5, 6.5])
    kept, b_f_min = L.reference_memory_kept(b_fs, 20, 3)
    assert np.allclose(kept, [measured_by_steps(b, 20, 3) for b in b_fs], rtol=1e-9)
    assert b_f_min == min(b for b, k in zip(b_fs, kept, strict=True) if k >= 0.1)
    assert np.all(np.diff(kept[np.argsort(b_fs)]) > 0)         # on this case: the more open, the more kept
    assert L.check_memory_kept(memory)


def test_memory_cases_always_have_a_conclusion_the_first_in_the_list_does_not_give():
    """Every case has at least two b_f that keep 10 %, and its first b_f is not the smallest of them."""
    seen = []
    for seed in range(3):
        for hidden in (False, True):
            L.check_memory_kept(lambda *a: seen.append(a) or L.CHECKS["check_memory_kept"].solution(*a),
                                seed=seed, hidden=hidden)
    for b_fs, T, s in seen:
        kept, _ = L.reference_memory_kept(b_fs, T, s)
        keeping = [b for b, k in zip(b_fs, kept, strict=True) if k >= 0.1]
        assert len(keeping) >= 2 and keeping[0] != min(keeping)


def slipped(b_f, T, seed, *, how):
    """The measurement with one of the usual mistakes (``how``), through the layer."""
    from companion import LSTM
    H = 8
    lay = LSTM(3, H, seed=seed)
    p = lay.params
    if how == "add":                                   # b_f added to the initial bias
        p["bias_ih_l0"][H:2 * H] += b_f
    elif how == "ih":                                  # bias_hh's part left in
        p["bias_ih_l0"][H:2 * H] = b_f
    elif how == "i-block":                             # the input gate's rows
        p["bias_ih_l0"][:H] = b_f
        p["bias_hh_l0"][:H] = 0.0
    else:
        p["bias_ih_l0"][H:2 * H] = b_f
        p["bias_hh_l0"][H:2 * H] = 0.0
    lay(np.random.default_rng(seed).standard_normal((T, 3)))
    if how == "product":                               # the forget gates' product only
        return np.linalg.norm(np.prod(lay.traces["l0"]["f"], axis=0)) / np.sqrt(H)
    _, (_, dC_0) = lay.backward(None, (np.zeros((1, H)), np.ones((1, H))))
    return np.linalg.norm(dC_0) / (1.0 if how == "unscaled" else np.sqrt(H))


@pytest.mark.parametrize("how, pick, hint", [
    ("add", min, "do not add b_f to the initial bias"),
    ("ih", min, "set bias_hh's f block to 0 too"),
    ("i-block", min, "rows H:2H"),
    ("unscaled", min, "divide by the size of the gradient"),
    ("product", min, "only the path along the cell"),
    (None, lambda bs: bs[0], "the b_fs are not sorted"),
    (None, max, "nor the largest"),
])
def test_memory_slips_are_named(how, pick, hint):
    measure = measured_by_steps if how is None else (lambda *a: slipped(*a, how=how))
    assert hint in hint_of(L.check_memory_kept(lambda *a: memory(*a, measure=measure, pick=pick)))


# --------------------------------------------------------------------------- the full peephole backward (07, transfer)


def full_backward(dh, dC_next, Cp, s, w, *, peep="fio", transpose=False, o_to_prev=False, gates_see_next=False,
                  h_tanh=True, o_sig=True):
    """dL/dC_{t-1} through one full-peephole step, written out, with switches for the slips."""
    f, i, Ct, C, o = s["f_t"], s["i_t"], s["C_tilde_t"], s["C_t"], s["o_t"]
    M = {k: (v.T if transpose else v) for k, v in w.items()}
    da_o = dh * np.tanh(C) * (o * (1 - o) if o_sig else 1)
    through_o = da_o @ M["w_co"] if "o" in peep else 0
    dC = dC_next + dh * o * ((1 - np.tanh(C) ** 2) if h_tanh else 1)
    if not o_to_prev:
        dC = dC + through_o
    into_gates = dC_next if gates_see_next else dC
    out = dC * f
    if "f" in peep:
        out = out + (into_gates * Cp * f * (1 - f)) @ M["w_cf"]
    if "i" in peep:
        out = out + (into_gates * Ct * i * (1 - i)) @ M["w_ci"]
    return out + through_o if o_to_prev else out


def test_full_peephole_reference_is_companions_backward_and_the_finite_difference():
    from companion.checks.core import lstm_case
    rng = np.random.default_rng(1)
    for B in (None, 3):
        x, h, C, w = lstm_case(rng, B, peephole="full").args
        st = cells.lstm_step(x, h, C, w, peephole="full")
        dh, dC = rng.normal(size=h.shape), rng.normal(size=h.shape)
        s = {k: getattr(st, k) for k in ("f_t", "i_t", "C_tilde_t", "C_t", "o_t")}
        peeps = {k: w[k] for k in ("w_cf", "w_ci", "w_co")}
        ref = L.reference_peephole_full_backward(dh, dC, C, s, peeps)
        assert np.allclose(ref, cells.lstm_step_backward(dh, dC, x, h, C, st, w, peephole="full")["dC_prev"])
        assert np.allclose(ref, full_backward(dh, dC, C, s, peeps))
    # and by central differences, one example
    x, h, C, w = lstm_case(rng, None, peephole="full").args
    dh, dC = rng.normal(size=h.shape), rng.normal(size=h.shape)

    def loss(c):
        st = cells.lstm_step(x, h, c, w, peephole="full")
        return np.sum(dh * st.h_t) + np.sum(dC * st.C_t)

    eps = 1e-6
    fd = np.array([(loss(C + eps * e) - loss(C - eps * e)) / (2 * eps) for e in np.eye(C.size)])
    st = cells.lstm_step(x, h, C, w, peephole="full")
    s = {k: getattr(st, k) for k in ("f_t", "i_t", "C_tilde_t", "C_t", "o_t")}
    ref = L.reference_peephole_full_backward(dh, dC, C, s, {k: w[k] for k in ("w_cf", "w_ci", "w_co")})
    assert np.allclose(ref, fd, rtol=1e-6, atol=1e-9)
    assert L.check_peephole_full_backward(full_backward)


@pytest.mark.parametrize("kw, hint", [
    (dict(peep=""), "this is the plain LSTM's backward"),
    (dict(peep="fi"), "the output gate reads C_t through w_co"),
    (dict(transpose=True), "not v @ W.T"),
    (dict(o_to_prev=True), "reads C_t, not C_{t-1}"),
    (dict(gates_see_next=True), "everything that reaches C_t"),
    (dict(h_tanh=False), "carries tanh' = 1 - tanh^2(C_t)"),
    (dict(o_sig=False), "sigma' = o_t (1 - o_t)"),
    (dict(peep="io"), "forget gate's peephole term"),
    (dict(peep="fo"), "input gate's peephole term"),
])
def test_full_peephole_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_peephole_full_backward(lambda *a: full_backward(*a, **kw)))


def test_full_peephole_cases_hold_a_consistent_step():
    seen = []
    L.check_peephole_full_backward(lambda dh, dC, Cp, s, w: seen.append((Cp, s, w)) or full_backward(dh, dC, Cp, s, w))
    for Cp, s, w in seen:
        H = Cp.shape[-1]
        assert all(w[k].shape == (H, H) for k in ("w_cf", "w_ci", "w_co"))
        assert np.allclose(s["C_t"], s["f_t"] * Cp + s["i_t"] * s["C_tilde_t"])


# --------------------------------------------------------------------------- the blind-gate experiment (07)


def sight_by_steps(b_o, H, seed, *, plain=False, gate="o", step=2, zero=("w_ci", "w_cf", "w_co")):
    """The experiment's measurement written another way: steps of companion.cells.lstm_step with
    the layer's weights, not the layer itself (slips: another gate's bias, another step, not
    every peephole zeroed)."""
    from companion import LSTM
    w = LSTM(1, H, seed=seed, peephole="diagonal").cell_weights()
    w[f"b_{gate}"] = np.full(H, float(b_o))          # the slides' bias: b_ih + b_hh
    if plain:
        w.update({k: np.zeros(H) for k in zero})
    f = []
    for C_0 in (0.0, 1.0):
        h, C = np.zeros(H), np.full(H, C_0)
        for _ in range(step):
            st = cells.lstm_step(np.ones(1), h, C, w, peephole="diagonal")
            h, C = st.h_t, st.C_t
        f.append(st.f_t)
    return np.abs(f[1] - f[0]).max()


def sight(b_os, H, seed, *, pick=max, **kw):
    plain = np.array([sight_by_steps(b, H, seed, plain=True, **kw) for b in b_os])
    peep = np.array([sight_by_steps(b, H, seed, **{k: v for k, v in kw.items() if k != "zero"}) for b in b_os])
    return plain, peep, pick([b for b, p, q in zip(b_os, plain, peep, strict=True) if p < q / 10])


def test_sight_reference_is_the_step_by_step_measurement():
    b_os = np.array([-10.0, 1.0, -3.0, -7.0, 0.0])
    plain, peep, blind = L.reference_gate_sight(b_os, 6, 4)
    mine = sight(b_os, 6, 4)
    assert np.allclose(plain, mine[0], rtol=1e-9) and np.allclose(peep, mine[1], rtol=1e-9) and blind == mine[2]
    order = np.argsort(b_os)
    assert np.all(np.diff(plain[order]) > 0)       # the more closed the output gate, the blinder the plain gate
    assert np.all(peep > 0.5 * peep.max())         # the peephole gate keeps most of its sight
    assert L.check_gate_sight(sight)


def test_sight_cases_always_have_a_conclusion_the_first_in_the_list_does_not_give():
    seen = []
    for seed in range(3):
        for hidden in (False, True):
            L.check_gate_sight(lambda *a: seen.append(a) or L.CHECKS["check_gate_sight"].solution(*a),
                               seed=seed, hidden=hidden)
    for b_os, H, s in seen:
        plain, peep, _ = L.reference_gate_sight(b_os, H, s)
        blind = [b for b, p, q in zip(b_os, plain, peep, strict=True) if p < q / 10]
        assert len(blind) >= 2 and blind[0] != max(blind)


@pytest.mark.parametrize("kw, hint", [
    (dict(gate="f"), "block 3, rows 3H:4H"),
    (dict(step=1), "measure at step 2"),
    (dict(zero=("w_cf",)), "all three peephole weights"),
    (dict(pick=lambda bs: bs[0]), "the b_os are not sorted"),
    (dict(pick=min), "nor the smallest"),
])
def test_sight_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_gate_sight(lambda *a: sight(*a, **kw)))


def test_sight_added_bias_is_named():
    from companion import LSTM

    def added(b_os, H, seed):
        out = []
        for zero in (True, False):
            vals = []
            for b_o in b_os:
                lay = LSTM(1, H, seed=seed, peephole="diagonal")
                lay.params["bias_ih_l0"][3 * H:] += b_o
                if zero:
                    for k in ("weight_ci_l0", "weight_cf_l0", "weight_co_l0"):
                        lay.params[k][...] = 0.0
                f = [(lay(np.ones((2, 1)), state=(np.zeros((1, H)), np.full((1, H), c))), lay.traces["l0"]["f"][1])[1]
                     for c in (0.0, 1.0)]
                vals.append(np.abs(f[1] - f[0]).max())
            out.append(np.array(vals))
        return out[0], out[1], max(b for b, p, q in zip(b_os, *out, strict=True) if p < q / 10)
    assert "do not add b_o to the initial bias" in hint_of(L.check_gate_sight(added))


# --------------------------------------------------------------------------- what the checks refuse


def test_step_checks_refuse_the_layer_and_the_cell_functions():
    from companion import LSTM

    def through_the_layer(x, h, C, w):
        LSTM(1, 2)(np.zeros((1, 1)))
        return lstm_step(x, h, C, w)

    for check in (L.check_lstm_step, L.check_peephole_lstm_step):
        fb = check(through_the_layer, seed=0)
        assert not fb and "companion.LSTM, which already does this exercise's job" in str(fb), str(fb)
    fb = L.check_peephole_forget_gate(lambda x, h, C, Wx, Wh, wc, b: cells._peep(wc, C, "diagonal") and None, seed=0)
    assert not fb and "already does this exercise's job" in str(fb)
    assert LSTM(1, 2)(np.zeros((1, 1)))[0].shape == (1, 2)          # restored afterwards


def test_the_chapters_variant_step_is_refused():
    """Chapter 06 shows lstm_step_act(x, h, C, w, act), which returns a cells.LSTMStep: with act = tanh
    it is the exercise's answer, so an answer that calls it is refused."""
    def lstm_step_act(x_t, h_prev, C_prev, w, act):
        f, i, o = (sigmoid(h_prev @ w[f"W_h{g}"].T + x_t @ w[f"W_x{g}"].T + w[f"b_{g}"]) for g in "fio")
        C_tilde = act(h_prev @ w["W_hC"].T + x_t @ w["W_xC"].T + w["b_C"])
        C_t = f * C_prev + i * C_tilde
        return cells.LSTMStep(f, i, C_tilde, C_t, o, o * act(C_t))

    fb = L.check_lstm_step(lambda *a: (lambda s: (s.h_t, s.C_t))(lstm_step_act(*a, np.tanh)), seed=0)
    assert not fb and "LSTMStep, which already does this exercise's job" in str(fb), str(fb)


def test_split_refuses_the_layers_slicing():
    fb = L.CHECKS["check_split_gates"](L.CHECKS["check_split_gates"].copying, seed=0)
    assert not fb and "cell_weights, which already does this exercise's job" in str(fb)


def test_torchs_lstm_cell_is_refused():
    torch = pytest.importorskip("torch")

    def with_torch(x, h, C, w):
        cell = torch.nn.LSTMCell(x.shape[-1], h.shape[-1], dtype=torch.float64)
        cell(torch.zeros(1, x.shape[-1], dtype=torch.float64))
        return lstm_step(x, h, C, w)

    fb = L.check_lstm_step(with_torch, seed=0)
    assert not fb and "torch.nn.LSTMCell" in str(fb), str(fb)
    assert L.check_lstm_step(lstm_step, seed=0)
