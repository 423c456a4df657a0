"""companion.notebook: glue passes a value to myst-nb, does nothing without it, refuses a bad name."""
import sys

import pytest

from companion.notebook import glue


def test_glue_hands_the_value_to_myst_nb(monkeypatch):
    seen = []
    import myst_nb
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.append((name, value, display)))
    glue("answer", 42, display=False)
    assert seen == [("answer", 42, False)]


def test_glue_without_myst_nb_does_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)      # import myst_nb -> ImportError, as in Colab
    assert glue("answer", 42) is None


@pytest.mark.parametrize("name", ["", None, 3])
def test_glue_refuses_a_bad_name(name):
    with pytest.raises(ValueError, match="name: expected a non-empty string"):
        glue(name, 1)
