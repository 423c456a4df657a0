"""A check grades the student's function and cannot be fooled or broken by it (issue 14, the
driver's part): the answer to compare with is computed first on private copies, an endless loop
is stopped, every exception (SystemExit included) becomes feedback, a torch tensor that requires
grad is reported, and rebinding ``compare`` from a notebook changes no verdict.

Every test of fooling or breaking a check fails on the driver as it was before these guards
(``src/companion/checks/core.py`` at commit 3dca834); two (the time limit is cleared
afterwards, KeyboardInterrupt still interrupts) are regression guards."""
import sys
import time

import numpy as np
import pytest

import companion
import companion.checks as checks
from companion.checks import core
from companion.checks.rnn_types import check_encoder_decoder, check_many_to_one, check_one_to_many


def _zero(*models):
    for m in models:
        for p in m.params.values():
            p[...] = 0.0


def test_zeroing_the_models_it_is_handed_does_not_pass_many_to_one():
    def cheat(x, lengths, rnn, head):
        _zero(rnn, head)                               # every logit 0: softmax is uniform
        return np.full((x.shape[1], head.params["V"].shape[0]), 1.0 / head.params["V"].shape[0])
    fb = check_many_to_one(cheat, seed=0)
    assert not fb and "expected" in str(fb)


def test_zeroing_the_models_it_is_handed_does_not_pass_encoder_decoder():
    def cheat(x, encoder, decoder, head, T_y):
        _zero(encoder, decoder, head)
        K = head.params["V"].shape[0]
        return np.full((T_y, x.shape[1], K), 1.0 / K)
    assert not check_encoder_decoder(cheat, seed=0)


def test_zeroing_the_models_it_is_handed_does_not_pass_one_to_many():
    ex = checks.CHECKS["check_one_to_many"]
    calls = []

    def cheat(*args):
        models = [a for a in args if hasattr(a, "params")]
        _zero(*models)
        calls.append(1)
        return ex.solution(*args)                       # the right code, on zeroed weights
    assert not check_one_to_many(cheat, seed=0)
    assert calls
    assert check_one_to_many(ex.solution, seed=0)        # the guard does not fail a correct answer


def test_an_endless_loop_is_stopped_and_reported(monkeypatch):
    monkeypatch.setattr(core, "TIME_LIMIT_S", 0.5)

    def forever(*args):
        while True:
            pass
    t0 = time.perf_counter()
    fb = checks.check_rnn_step(forever, seed=0)
    assert time.perf_counter() - t0 < 30                 # a guard against a hang, not a timing
    assert not fb and "did not finish within 0.5 s" in str(fb)


def test_a_student_cannot_swallow_the_time_limit(monkeypatch):
    monkeypatch.setattr(core, "TIME_LIMIT_S", 0.5)

    def stubborn(*args):
        while True:
            try:
                time.sleep(0.05)
            except Exception:                            # catches everything a student expects
                pass
    assert "did not finish" in str(checks.check_rnn_step(stubborn, seed=0))


def test_the_time_limit_is_cleared_after_the_check():
    import signal
    assert checks.check_rnn_step(checks.CHECKS["check_rnn_step"].solution, seed=0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("exit_call", [lambda: sys.exit(3), lambda: exit(), lambda: (_ for _ in ()).throw(SystemExit)])
def test_exit_becomes_feedback(exit_call):
    def quits(*args):
        exit_call()
    fb = checks.check_rnn_step(quits, seed=0)
    assert not fb and "called exit" in str(fb)


def test_a_base_exception_becomes_feedback():
    class Odd(BaseException):
        pass

    def odd(*args):
        raise Odd("strange")
    assert "raised Odd: strange" in str(checks.check_rnn_step(odd, seed=0))


def test_keyboard_interrupt_still_interrupts():
    def interrupted(*args):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        checks.check_rnn_step(interrupted, seed=0)


def test_a_torch_tensor_that_requires_grad_is_feedback_not_a_crash():
    torch = pytest.importorskip("torch")

    def tensor_answer(x_t, h_prev, *weights):
        h = checks.CHECKS["check_rnn_step"].solution(x_t, h_prev, *weights)
        return torch.tensor(h, requires_grad=True)
    fb = checks.check_rnn_step(tensor_answer, seed=0)
    assert not fb and ".detach().numpy()" in str(fb)


def test_rebinding_compare_from_a_notebook_changes_no_verdict(monkeypatch):
    monkeypatch.setattr(core, "compare", lambda *a, **k: None)
    monkeypatch.setattr(checks, "compare", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(core, "matches", lambda *a, **k: True)
    wrong = checks.CHECKS["check_rnn_step"].wrong[0].fn
    assert not checks.check_rnn_step(wrong, seed=0)


def test_an_endless_loop_is_stopped_inside_a_jupyter_kernel():
    """Where students run checks: the time limit works in a kernel too (cells run in its main thread)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import companion.checks as checks\nfrom companion.checks import core\ncore.TIME_LIMIT_S = 0.5\n"
        "def rnn_step(*args):\n    while True:\n        pass\n"
        "print(checks.check_rnn_step(rnn_step))")]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "did not finish within 0.5 s" in text


@pytest.mark.parametrize("check, answer", [
    ("check_softmax", lambda o: companion.softmax(o)),
    ("check_rnn_step", lambda x_t, h_prev, *w: companion.rnn_step(x_t, h_prev, *w).h_t),
    ("check_lstm_step", lambda *a: (lambda s: (s.h_t, s.C_t))(companion.cells.lstm_step(*a))),
    ("check_rnn_num_params", lambda D, H, K: checks.counting.rnn_num_params(D, H, K)),
])
def test_calling_companions_reference_is_refused(check, answer):
    fb = checks.CHECKS[check](answer, seed=0)
    assert not fb and "already does this exercise's job" in str(fb), str(fb)


def test_a_reference_imported_by_name_is_refused_too():
    from companion.cells import rnn_step as my_step  # a local name the answer closes over
    fb = checks.check_rnn_step(lambda x_t, h_prev, *w: my_step(x_t, h_prev, *w).h_t, seed=0)
    assert "already does this exercise's job" in str(fb)
    globals()["global_step"] = my_step                    # a name in the student's globals
    try:
        fb = checks.check_rnn_step(lambda x_t, h_prev, *w: global_step(x_t, h_prev, *w).h_t, seed=0)  # noqa: F821
        assert "already does this exercise's job" in str(fb)
    finally:
        del globals()["global_step"]
    assert companion.cells.rnn_step is my_step             # everything is restored afterwards
    assert companion.rnn_step is my_step


def test_clipping_with_torch_is_refused():
    torch = pytest.importorskip("torch")
    ex = checks.CHECKS["check_clip_grad_norm"]
    real = torch.nn.utils.clip_grad_norm_

    def with_torch(*args):
        real_result = ex.solution(*args)
        torch.nn.utils.clip_grad_norm_([torch.zeros(1, requires_grad=True)], 1.0)
        return real_result
    fb = ex(with_torch, seed=0)
    assert not fb and "clip_grad_norm_" in str(fb)
    assert torch.nn.utils.clip_grad_norm_ is real
    assert ex(ex.solution, seed=0)
