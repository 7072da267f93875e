# Two commands a newcomer needs (see README.md):
#   make demo   install the library in .venv and run the main job on the embedded synthetic faces
#   make test   install the dev extras in .venv and run every check CI runs
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export MPLBACKEND ?= Agg

.PHONY: install dev demo test sync nbtest pytest readme clean

$(BIN)/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.py settings.ini
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/mtl-course compare --out mtl_out

# library in sync with the notebooks, notebooks clean, README rendered from nbs/index.ipynb
sync: dev
	PATH=$(abspath $(BIN)):$$PATH bash tools/check_sync.sh

nbtest: dev
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: dev
	$(BIN)/python -m pytest tests

test: sync nbtest pytest

readme: dev
	$(BIN)/python tools/make_readme.py

clean:
	rm -rf $(VENV) _proc _docs mtl_out .pytest_cache
