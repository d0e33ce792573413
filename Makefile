# The two commands of README.md:  make run  ·  make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test bundle clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/tsfgui gui resources/sample_interview.mp4

test: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# The standalone one-folder bundle (needs the build extra): dist/tsfgui/tsfgui
bundle: $(VENV)/.installed
	$(PIP) install --quiet -e '.[build]'
	$(VENV)/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller build_spec/tsfgui.spec
	QT_QPA_PLATFORM=offscreen dist/tsfgui/tsfgui --selftest

clean-venv:
	rm -rf $(VENV)
