# Two commands for a newcomer (see README):  make demo   |   make test
# Each does its own set-up: a virtual environment in .venv with both distributions.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The oldest napari we support (pyproject: napari>=0.5.6,<0.10) and its light venv (see below)
OLDEST        := .venv-napari-oldest
OLDEST_NAPARI := 0.5.6
OLDEST_STAMP  := $(OLDEST)/.installed
OLDEST_LOG    := $(VENV)/napari-oldest-tests.log
OLDEST_CHECK  := $(OLDEST)/bin/python scripts/check_napari_oldest.py $(OLDEST_NAPARI)
OLDEST_PYTEST := $(OLDEST)/bin/python -m pytest -p no:cacheprovider tests/napari \
  --deselect tests/napari/test_manifest.py::test_built_wheel_ships_manifest_models_and_entry_point

.PHONY: setup system-deps demo test test-napari-oldest bench screenshots clean

# TORCH_INDEX: an index to take torch/torchvision from first, e.g. PyTorch's CPU-only builds:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu   (README: install routes and sizes)
TORCH_INDEX ?=

$(STAMP): pyproject.toml selectors/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	if [ -n "$(TORCH_INDEX)" ]; then $(PY) -m pip install --quiet --disable-pip-version-check torch torchvision --index-url "$(TORCH_INDEX)"; fi
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./selectors -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/system_deps.sh

# Main job: the bundled demo models on a generated scene, offline; writes demo_out/*.png and *.tif
demo: setup
	$(VENV)/bin/napari-fastsam demo --out demo_out

# The whole test suite on the newest napari (napari tests run under Xvfb through pytest-xvfb) and,
# at the same time, tests/napari on the oldest napari we support (pyproject: napari>=0.5.6,<0.10).
# The two runs share the CPUs, so CI's time grows far less than by the second run's own time.
# The oldest run's output comes after the main run's; `make test` fails if either run fails.
test: setup system-deps $(OLDEST_STAMP)
	( $(OLDEST_CHECK) && exec $(OLDEST_PYTEST) ) > $(OLDEST_LOG) 2>&1 & oldest=$$!; \
	trap 'kill $$oldest 2>/dev/null' INT TERM; \
	$(PY) -m pytest; main=$$?; \
	wait $$oldest; old=$$?; \
	echo "======== napari $(OLDEST_NAPARI): tests/napari (exit status $$old; log $(OLDEST_LOG)) ========"; \
	cat $(OLDEST_LOG); [ $$main -eq 0 ] && [ $$old -eq 0 ]

# The oldest napari gets a light venv next to .venv: a .pth file appends .venv's site-packages
# behind its own, so pip installs only napari $(OLDEST_NAPARI) and the few packages it needs older
# (app-model, vispy, ...; about 30 s), which shadow .venv's copies. torch, Qt and numpy stay the
# single copies in .venv (scripts/check_napari_oldest.py checks that, and the napari version).
# The wheel test builds the package, whatever napari is installed; `make test` ran it already.
$(OLDEST_STAMP): $(STAMP)
	rm -rf $(OLDEST)
	$(PY) -m venv --without-pip $(OLDEST)
	echo "import site; site.addsitedir('$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')')" \
	  > "$$($(OLDEST)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/_fastsam_main_venv.pth"
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check "napari==$(OLDEST_NAPARI)"
	touch $@

test-napari-oldest: setup system-deps $(OLDEST_STAMP)
	$(OLDEST_CHECK)
	$(OLDEST_PYTEST)

bench: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) bench/run_all.py; else xvfb-run -a $(PY) bench/run_all.py; fi

screenshots: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) scripts/screenshots.py; else xvfb-run -a -s "-screen 0 2400x1300x24" $(PY) scripts/screenshots.py; fi

clean:
	rm -rf $(VENV) $(OLDEST) demo_out .pytest_cache .hypothesis
