# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make book   -> set up .venv, build the site into book/_build/html
#   make test   -> set up .venv, run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: help venv test test-package book serve notebooks bench lock clean

help:
	@echo "make book   build the site (book/_build/html/index.html)"
	@echo "make test   run every test"
	@echo "make bench  benchmark companion against torch.nn"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

test-package: $(STAMP)
	$(PY) -m pytest tests

test: test-package

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml --path-output book
	@echo "The book is at $(CURDIR)/book/_build/html/index.html"

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
