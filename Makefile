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

# The whole test suite on the newest napari (napari tests run under Xvfb through pytest-xvfb),
# then the napari tests again on the oldest napari we support (pyproject: napari>=0.5.6,<0.10).
test: setup system-deps
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-napari-oldest

# The oldest napari gets a light venv next to .venv: a .pth file appends .venv's site-packages
# behind its own, so pip installs only napari $(OLDEST_NAPARI) and the few packages it needs older
# (app-model, vispy, ...; about 30 s), which shadow .venv's copies. torch, Qt and numpy stay the
# single copies in .venv (scripts/check_napari_oldest.py checks that, and the napari version).
# The wheel test builds the package, whatever napari is installed; `make test` ran it already.
OLDEST        := .venv-napari-oldest
OLDEST_NAPARI := 0.5.6
OLDEST_STAMP  := $(OLDEST)/.installed

$(OLDEST_STAMP): $(STAMP)
	rm -rf $(OLDEST)
	$(PY) -m venv --without-pip $(OLDEST)
	echo "import site; site.addsitedir('$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')')" \
	  > "$$($(OLDEST)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/_fastsam_main_venv.pth"
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check "napari==$(OLDEST_NAPARI)"
	touch $@

test-napari-oldest: setup system-deps $(OLDEST_STAMP)
	$(OLDEST)/bin/python scripts/check_napari_oldest.py $(OLDEST_NAPARI)
	$(OLDEST)/bin/python -m pytest -p no:cacheprovider tests/napari \
	  --deselect tests/napari/test_manifest.py::test_built_wheel_ships_manifest_models_and_entry_point

bench: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) bench/run_all.py; else xvfb-run -a $(PY) bench/run_all.py; fi

screenshots: setup system-deps
	if [ -n "$$DISPLAY" ]; then $(PY) scripts/screenshots.py; else xvfb-run -a -s "-screen 0 2400x1300x24" $(PY) scripts/screenshots.py; fi

clean:
	rm -rf $(VENV) $(OLDEST) demo_out .pytest_cache .hypothesis
