# Two commands for a newcomer (see README):  make demo   |   make test
# Each does its own set-up: a virtual environment in .venv with both distributions.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps demo test test-napari-oldest bench screenshots clean

$(STAMP): pyproject.toml selectors/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./selectors -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/system_deps.sh

# Main job: the bundled demo models on a generated scene, offline; writes demo_out/*.png and *.tif
demo: setup
	$(VENV)/bin/napari-fastsam demo --out demo_out

# The whole test suite (napari tests run under Xvfb through pytest-xvfb)
test: setup system-deps
	$(PY) -m pytest

# The napari widget tests on the oldest napari we support (pyproject: napari>=0.5.6), in its own venv.
# Not part of `make test` (a second full install); run it before changing the napari bound.
OLDEST := .venv-napari-oldest
test-napari-oldest: system-deps
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check -e ./selectors -e ".[test]" "napari==0.5.6"
	$(OLDEST)/bin/python -m pytest tests/napari

bench: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) bench/run_all.py; else xvfb-run -a $(PY) bench/run_all.py; fi

screenshots: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) scripts/screenshots.py; else xvfb-run -a -s "-screen 0 2400x1300x24" $(PY) scripts/screenshots.py; fi

clean:
	rm -rf $(VENV) $(OLDEST) demo_out .pytest_cache .hypothesis
