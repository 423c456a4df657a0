"""Test sets that hold what training did not: tasks.unique, shared_sequences, held_out_split,
opinion_cores, and the tagging templates whose names only the right context decides."""
import numpy as np
import pytest

from companion import tasks


def _rows(task):
    return [tuple(np.asarray(r).ravel()) for r in task.x]


def test_take_slices_info_alike():
    d = tasks.sentiment_task(20, seed=1)
    idx = np.array([3, 0, 7])
    part = d.take(idx)
    assert np.array_equal(part.x, d.x[idx]) and np.array_equal(part.y, d.y[idx])
    assert np.array_equal(part.info["opinions"], d.info["opinions"][idx])
    a, b = d.split(12)                                   # split is take of the two slices, as before
    assert np.array_equal(a.x, d.x[:12]) and np.array_equal(b.info["last_negated"], d.info["last_negated"][12:])
    m = tasks.motif_task(10, seed=0)
    assert m.take(np.arange(10) < 4).info["motif"] == m.info["motif"]   # non-array info kept as is


def test_unique_keeps_first_occurrences_in_order():
    d = tasks.melody_task(100, seed=2)                   # 12 possible tunes, drawn with replacement
    u = tasks.unique(d)
    rows = _rows(d)
    assert len(u) == len(set(rows)) <= 12
    firsts = sorted({r: k for k, r in reversed(list(enumerate(rows)))}.values())
    assert np.array_equal(u.x, d.x[firsts])
    assert np.array_equal(u.info["first"], d.info["first"][firsts])
    assert len(tasks.unique(u)) == len(u)


def test_shared_sequences_counts_exact_copies():
    d = tasks.recall_task(50, 2, seed=0)                 # 16 possible sequences: many copies
    a, b = d.split(30)
    expected = sum(r in set(_rows(a)) for r in _rows(b))
    assert expected > 0 and tasks.shared_sequences(a, b) == expected
    assert tasks.shared_sequences(a, a) == len(a)
    with pytest.raises(ValueError, match="^test"):
        tasks.shared_sequences(a, tasks.recall_task(5, 4))          # another length
    with pytest.raises(ValueError, match="^train"):
        tasks.shared_sequences(a.x, b)


def test_shared_sequences_on_float_inputs():
    d = tasks.adding_problem(20, 6, seed=0)
    assert tasks.shared_sequences(d, d.take(np.array([2, 5]))) == 2
    assert tasks.shared_sequences(d.take(np.arange(10)), d.take(np.arange(10, 20))) == 0


def test_held_out_split_by_a_rule_shares_nothing():
    d = tasks.sentiment_task(1500, seed=0)
    cores = tasks.opinion_cores(d)
    rule = np.array(["not great" in c for c in cores])
    train, test = tasks.held_out_split(d, rule)
    assert tasks.shared_sequences(train, test) == 0
    assert len(set(_rows(train))) == len(train) and len(set(_rows(test))) == len(test)
    assert not any("not great" in c for c in tasks.opinion_cores(train))
    assert all("not great" in c for c in tasks.opinion_cores(test))
    assert len(train) + len(test) == len(tasks.unique(d))           # every distinct review in one part


def test_held_out_split_drops_test_copies_of_training_sequences():
    d = tasks.recall_task(60, 2, seed=0)                 # 4 * 4 possible sequences
    mask = np.arange(60) % 3 == 0                        # a rule that does not depend on x alone
    train, test = tasks.held_out_split(d, mask)
    assert tasks.shared_sequences(train, test) == 0
    assert set(_rows(test)) == {r for r, m in zip(_rows(d), mask, strict=True) if m} - set(_rows(train))


@pytest.mark.parametrize("mask", [np.ones(10, int), np.ones(9, bool), [True] * 10, np.zeros(10, bool),
                                  np.ones(10, bool), "all"])
def test_held_out_split_refuses_bad_masks_naming_test(mask):
    with pytest.raises(ValueError, match="^test"):
        tasks.held_out_split(tasks.motif_task(10, seed=0), mask)
    with pytest.raises(ValueError, match="^task"):
        tasks.held_out_split(np.zeros((10, 3)), np.arange(10) < 5)


def test_opinion_cores_by_construction():
    d = tasks.sentiment_task(300, seed=3)
    cores = tasks.opinion_cores(d)
    assert cores.shape == (300,)
    for row, core, n_op, label in zip(d.x, cores, d.info["opinions"], d.y, strict=True):
        words = core.split()
        text = " ".join(d.vocab[t] for t in row if t)
        assert f" {core} " in f" {text} "                              # a part of the review
        assert words[0] in ("not", *tasks.POSITIVE, *tasks.NEGATIVE) and words[-1] in tasks.POSITIVE + tasks.NEGATIVE
        assert words.count("but") == n_op - 1
        last = core.split(" but ")[-1].split()                          # the label is the last opinion's
        assert label == int((last[-1] in tasks.POSITIVE) != (last[0] == "not"))
    with pytest.raises(ValueError, match="^task"):
        tasks.opinion_cores(tasks.motif_task(5))


def test_default_ner_task_keeps_its_vocabulary_and_tags():
    d = tasks.ner_task(200, seed=4)
    assert d.vocab == tasks.NER_VOCAB
    assert set(d.info) == {"ambiguous", "right_context", "template"}
    # default templates: only a sentence-initial slot can lack a left context that decides it
    assert not d.info["right_context"][:, 1:].any() and d.info["right_context"][:, 0].any()


def test_context_templates_right_context_by_construction():
    d = tasks.ner_task(2000, templates=tasks.NER_CONTEXT_TEMPLATES, seed=0)
    rc, amb = d.info["right_context"], d.info["ambiguous"]
    for row, tags, r, template in zip(d.x, d.y, rc, d.info["template"], strict=True):
        words = [d.vocab[t] for t in row if t]
        assert len(words) == len(tasks.NER_CONTEXT_TEMPLATES[template].split())
        for t in range(len(words)):
            # only the "... X is very ADJ" slots lack a deciding left context; their ADJ decides
            assert r[t] == (tags[t] > 0 and words[t + 1:t + 3] == ["is", "very"])
            if r[t]:
                assert tags[t] == (1 if words[-1] in ("kind", "funny", "tall", "young") else 2)
    assert (rc & amb).any() and (~rc & amb).any()
    # the words before a right-context slot occur before both kinds of slot
    before = {}
    for row, tags, r in zip(d.x, d.y, rc, strict=True):
        for t in np.flatnonzero(r):
            before.setdefault(tuple(row[:t]), set()).add(int(tags[t]))
    assert all(kinds == {1, 2} for kinds in before.values())


@pytest.mark.parametrize("templates, name", [("P is here", "templates"), ([], "templates"),
                                             (["P met alice"], "templates"), (["", "P is"], "templates")])
def test_ner_task_refuses_bad_templates(templates, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        tasks.ner_task(5, templates=templates)


def test_ner_task_refuses_short_length():
    with pytest.raises(ValueError, match="^length"):
        tasks.ner_task(5, length=4, templates=tasks.NER_CONTEXT_TEMPLATES)
    with pytest.raises(ValueError, match="^length"):
        tasks.ner_task(5, length=5)


def test_held_out_split_refuses_a_test_part_made_only_of_training_copies():
    d = tasks.recall_task(40, 1, seed=0)                 # 4 possible sequences: all in the first 39
    with pytest.raises(ValueError, match="^test: the test part is empty"):
        tasks.held_out_split(d, np.arange(40) == 39)
