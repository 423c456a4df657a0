"""What every exercise check must do with a function that is not an answer (shared by the check tests)."""


def assert_rejects_non_answers(check):
    """A stub, a crash and a non-function all fail, each with feedback saying why."""
    def stub(*a):
        raise NotImplementedError()

    def crash(*a):
        raise KeyError("W_xq")

    fb = check(stub)
    assert not fb and "not implemented yet" in str(fb), str(fb)
    fb = check(crash)
    assert not fb and "KeyError" in str(fb) and "W_xq" in str(fb), str(fb)
    assert not check("not a function")
    assert not check(42)
