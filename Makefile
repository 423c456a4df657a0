# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make book   -> set up .venv, build the site into book/_build/html
#   make test   -> set up .venv, run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
# The venv's command-line tools (nbgrader calls alembic, tests call jupyter) come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
INSTRUCTOR := $(VENV)/.instructor

.PHONY: help venv instructor assignments exercise-table test-js test test-package test-package-core test-widgets-browser site-tests book book-strict serve notebooks sync-notebooks \
        test-notebooks test-notebooks-alt test-notebooks-both test-site bench lint lock clean \
        train-charlm pdf

help:
	@echo "make book   build the site (book/_build/html/index.html)"
	@echo "make test   run every test (lint first)"
	@echo "make lint   ruff over src, tests, scripts and benchmarks (pyproject.toml [tool.ruff])"
	@echo "make serve  serve the built site on http://127.0.0.1:$(PORT)/"
	@echo "make pdf    the whole book in one PDF (book/_build/pdf/book.pdf; needs chromium)"
	@echo "make notebooks  re-execute every notebook in place (outputs are committed)"
	@echo "make bench  benchmark companion against torch.nn"
	@echo "make train-charlm  retrain chapter 12's character LSTM and GRU (minutes; not part of make test)"
	@echo "make instructor   install nbgrader (requirements-instructor.txt)"
	@echo "make assignments  student versions of every chapter into assignments/"
	@echo "make exercise-table  rewrite the exercise table of book/instructors.md from the registry"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# nbgrader and what it adds, for instructors and for the nbgrader tests.
$(INSTRUCTOR): $(STAMP) requirements-instructor.txt
	$(PY) -m pip install -q -r requirements-instructor.txt
	@touch $(INSTRUCTOR)

instructor: $(INSTRUCTOR)

# One student notebook per chapter: solutions stubbed, hidden tests removed, outputs cleared.
# The exercise table of book/instructors.md, from companion.checks.CHECKS (a test checks it is current).
exercise-table: $(STAMP)
	$(PY) scripts/make_instructors.py

assignments: $(STAMP)
	$(PY) -m companion.assign notebooks/*.ipynb --out assignments --force
	@echo "Student notebooks are in $(CURDIR)/assignments/"

# The package tests, then the widget browser tests (tests/widgets_browser), which time the
# widgets (repaint, training step, sampler) and so run alone, never beside another job.
test-package: test-package-core test-widgets-browser

test-package-core: $(STAMP) $(INSTRUCTOR)
	$(PY) -m pytest tests --ignore=tests/site --ignore=tests/widgets_browser

# In CI the widgets are also driven live in JupyterLab (tests/widgets_browser/test_jupyterlab.py,
# about 30 s: a Jupyter server and a kernel); elsewhere that test is opt-in.
test-widgets-browser: $(STAMP)
	$(if $(CI),COMPANION_TEST_JUPYTERLAB=1 ,)$(PY) -m pytest tests/widgets_browser

# The widgets' JavaScript against companion's shared test vectors (Node's built-in runner).
test-js:
	@if command -v node >/dev/null; then node --test tests/js/; \
	elif [ -n "$$CI" ]; then echo "test-js: node is missing (CI needs Node.js >= 18)"; exit 1; \
	else echo "test-js: SKIPPED, Node.js is not installed (install Node.js >= 18 to run the widget JS tests)"; fi

# ruff (pinned in requirements.txt, rules in pyproject.toml): the notebooks are not linted, nbval proves them.
lint: $(STAMP)
	$(PY) -m ruff check src tests scripts benchmarks

# lint first: a style or bug-pattern finding stops the run before the long tests. Then two jobs
# at a time on a 2-core machine (each mostly one core; their outputs printed whole as each ends):
# nbval in both configurations; then the package tests (whose nbgrader runs two autogrades) beside
# the fresh strict build. Never more than two Jupyter kernels start at once: a kernel picks free
# ports and another starting at the same moment can take them. Then, alone, the widgets' timed
# browser tests, and the site tests (two pytest-xdist workers: Chromium does the work).
test: lint test-js
	$(MAKE) -j2 --output-sync=target test-notebooks test-notebooks-alt
	$(MAKE) -j2 --output-sync=target test-package-core book-strict
	$(MAKE) test-widgets-browser site-tests

# ---------------------------------------------------------------- the book
# Built from the repository root, so the toc points at notebooks/ in place (no copies);
# book/_config.yml and book/_toc.yml paths are relative to the root. Nothing is executed:
# the site shows the outputs stored in the notebooks, which test-notebooks (nbval) proves.
# In CI (CI set) every build is a fresh one (--all): an incremental build can keep stale
# static files.
JB_BUILD := $(VENV)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml --path-output book
CI_FLAGS := $(if $(CI),--all,)
PORT ?= 8000

book: $(STAMP)
	$(JB_BUILD) $(CI_FLAGS)
	@echo "The book is at $(CURDIR)/book/_build/html/index.html"

# What make test builds: a fresh build (no stale page survives), warnings are errors,
# every reference must resolve (-n).
book-strict: $(STAMP)
	rm -rf book/_build
	$(JB_BUILD) -W -n --keep-going --all
	@echo "The book is at $(CURDIR)/book/_build/html/index.html"

# The whole book in one PDF, printed from the built site by headless Chromium (Debian's
# chromium: apt-get install -y chromium), widgets as their default state: book/_build/pdf/book.pdf.
pdf: book
	$(PY) scripts/make_pdf.py

serve:
	@test -f book/_build/html/index.html || { echo "No site yet: run 'make book' first"; exit 1; }
	@echo "Serving book/_build/html at http://127.0.0.1:$(PORT)/  (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory book/_build/html

# Re-execute every notebook in place, each in a fresh kernel (seeded, PYTHONHASHSEED=0),
# after writing the Colab install cell from book/_config.yml's repository setting.
# Prints each notebook's time and peak memory; fails past the budget (30 s, 1.5 GB each,
# 240 s in all).
notebooks: $(STAMP)
	$(PY) scripts/colab_cell.py
	$(PY) scripts/execute_notebooks.py

sync-notebooks: $(STAMP)
	$(PY) scripts/colab_cell.py

# nbval, strict: every stored text output must equal a fresh run's (cells tagged
# nbval-ignore-output excepted; tests/nbval_sanitize.cfg masks truly volatile text).
NBVAL := $(PY) -m pytest --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout=120 -p no:cacheprovider
test-notebooks: $(STAMP)
	$(PY) scripts/blas_config.py
	$(NBVAL)

# The same nbval run under a second numerical configuration: another OpenBLAS kernel (a generic
# one: Prescott on x86-64, ARMV8 on ARM) and one BLAS/OpenMP thread instead of the machine's
# default. Stored outputs must not depend on either (CONTRIBUTING.md, "Outputs that mean the
# same on every machine"); blas_config.py checks first that the configuration took effect.
ALT_CORETYPE := $(if $(filter aarch64 arm64,$(shell uname -m)),ARMV8,Prescott)
ALT_ENV := env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$(ALT_CORETYPE) OPENBLAS_NUM_THREADS=1 \
	  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
test-notebooks-alt: $(STAMP)
	$(ALT_ENV) $(PY) scripts/blas_config.py --threads 1 --coretype $(ALT_CORETYPE)
	$(ALT_ENV) $(NBVAL)

# Both configurations side by side (what make test runs): the notebooks run on one core each
# most of the time, so two runs share a 2-core machine; each run's output is printed whole
# when it ends.
test-notebooks-both: $(STAMP)
	$(MAKE) -j2 --output-sync=target test-notebooks test-notebooks-alt

# The built site: browser (every page, no other host, no console error, math rendered;
# skipped without chromium unless CI is set), links and anchors, launch buttons,
# notebook policy, and bad input failing the build.
test-site: book-strict
	$(MAKE) site-tests

# The site tests on the site as built (make book-strict first).
site-tests: $(STAMP)
	$(PY) -m pytest tests/site -n 2

# Chapter 12's character-level LSTM and GRU, trained on data/corpus.txt (the book's own text,
# frozen: scripts/make_corpus.py wrote it) into data/charlm/ (weights .npz, train_log.json), then
# the page's test vectors rewritten from the new weights. Seeded; the GPU where there is one.
# Not part of make test (a test runs the script for a few steps); about 5-10 minutes on 2 cores.
train-charlm: $(STAMP)
	$(PY) scripts/train_charlm.py
	$(PY) -c "from companion.widgets.charlm import write_vectors; write_vectors()"
	@echo "Now re-execute notebooks/12_char_lm.ipynb (python scripts/execute_notebooks.py notebooks/12_char_lm.ipynb)"

bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py

# Re-pin requirements.txt from a fresh environment (see README).
lock:
	rm -rf /tmp/companion-lock && $(PYTHON) -m venv /tmp/companion-lock
	/tmp/companion-lock/bin/pip install -q --upgrade pip
	/tmp/companion-lock/bin/pip install -q -r requirements.in
	{ echo "# Exact pins: course material must be reproducible. Regenerate with 'make lock' (see README)."; \
	  /tmp/companion-lock/bin/pip freeze | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > requirements.txt

clean:
	rm -rf book/_build
