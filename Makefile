# Two commands a newcomer needs (see README.md):
#   make demo   install the library in .venv and run the main job on the embedded synthetic faces
#   make test   install the dev extras in .venv and run every check CI runs
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export MPLBACKEND ?= Agg
# the newest fastai 2.8.x and fastcore (2.x) the index serves, with the fast.ai packages they need
LATEST := 'fastai>=2.8.7,<2.9' fastcore fasttransform fastprogress fastdownload plum-dispatch

.PHONY: install dev demo test sync nbtest pytest stack-latest stack-colab package readme clean

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

# one torch thread per notebook: two notebooks run at once, and two workers with two threads each thrash two cores
# (chapters 2 + 3 in parallel on 2 cores: 3.4 min with one thread each, 7.7 min with the default)
nbtest: dev
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

pytest: dev
	$(BIN)/python -m pytest tests

# the pytest suite on the users' newest stack: newest fastai 2.8.x + fastcore 2, the dev env's torch (.venv-latest)
stack-latest: dev
	tools/test_stack.sh .venv-latest $(LATEST)

# the pytest suite on Colab's exact stack, torch included (downloads about 3 GB; not part of `make test`)
stack-colab: dev
	tools/test_stack.sh .venv-colab torch==2.11.0 torchvision==0.26.0 fastai==2.8.8 fastcore==2.2.12

# sdist + wheel built and inspected, the sdist installed into a clean env, the Colab install cell simulated
package: dev
	PYTHON=$(BIN)/python tools/check_package.sh

test: sync nbtest pytest stack-latest package

readme: dev
	$(BIN)/python tools/make_readme.py

clean:
	rm -rf $(VENV) .venv-latest .venv-colab _proc _docs mtl_out .pytest_cache build dist
