"""What the check tests share: how a feedback is read, and what every check must do with a non-answer."""


def assert_clean(fb):
    """The feedback is text a student reads: never a traceback."""
    text = str(fb)
    assert "Traceback" not in text and 'File "' not in text, text
    return text


def hint_of(fb):
    """The hint of a failing feedback, after saying which output differs (asserted)."""
    text = assert_clean(fb)
    assert not fb and text.startswith("NOT YET"), text
    assert "expected" in text and "got" in text, text
    assert "hint: " in text, text
    return text.split("hint: ", 1)[1]


def assert_rejects_non_answers(check):
    """A stub, a crash and a non-function all fail, each with feedback saying why."""
    def stub(*a):
        raise NotImplementedError()

    def crash(*a):
        raise KeyError("W_xq")

    fb = check(stub)
    assert not fb and "not implemented yet" in assert_clean(fb), str(fb)
    fb = check(crash)
    assert not fb and "KeyError" in assert_clean(fb) and "W_xq" in str(fb), str(fb)
    for non_function in ("not a function", 42, None):
        fb = check(non_function)
        assert not fb and "expected a function" in assert_clean(fb), str(fb)
