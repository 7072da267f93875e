#!/usr/bin/env bash
# Run the pytest suite on another stack of fastai/fastcore/torch than the dev stack, in a second environment.
#
#   tools/test_stack.sh ENV_DIR "requirement" ...        e.g.  tools/test_stack.sh .venv-latest 'fastai>=2.8.7,<2.9' fastcore
#
# It runs the pytest suite, then every notebook's test cells (tools/run_nbs.py: nbdev_test itself needs fastcore<2).
#
# The second environment reuses the dev environment's packages ($DEV_VENV, default .venv) for everything it does not install
# itself -- torch above all (5 GB) -- through a .pth file, so it costs seconds, not minutes. Its own site-packages come first on
# sys.path, so what it installs shadows the dev versions; pip never uninstalls anything from the dev environment ("outside
# environment"). torch and torchvision stay at the dev environment's versions unless they are named in the requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=${DEV_VENV:-.venv}
ENV=$1; shift
rm -rf "$ENV"; python3 -m venv "$ENV"
purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
"$DEV/bin/python" -c "$purelib" > "$("$ENV/bin/python" -c "$purelib")/_reuse_dev_env.pth"
keep="$ENV/keep-torch.txt"; : > "$keep"
for p in torch torchvision; do
  case " $* " in *" $p"[=\<\>\ ]*) ;; *) "$DEV/bin/python" -c "import importlib.metadata as m; print('$p==' + m.version('$p'))" >> "$keep";; esac
done
"$ENV/bin/python" -m pip install -q --upgrade -c "$keep" "$@" 2>&1 | grep -v -e "^WARNING: Location" -e "outside environment" \
  -e "dependency resolver does not currently" -e "^nbdev " -e "^execnb " -e "^mtl-course " -e "^mtl_course " || true
"$ENV/bin/python" -m pip install -q --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
"$ENV/bin/python" - <<'PY'
import importlib.metadata as m, fastai, fastcore, torch, torchvision
print("stack:", ', '.join(f"{p} {m.version(p)}" for p in ('fastai', 'fastcore', 'fasttransform', 'plum-dispatch', 'torch', 'torchvision')))
assert fastai.__file__ and fastcore.__version__ == m.version('fastcore'), "the stack's fastcore is not the one imported"
PY
(cd tests && "../$ENV/bin/python" -m pytest -q -p no:cacheprovider .)
# chapters 2 and 3 train a dozen models for minutes each; every library call they make is tested by the reference notebooks
"$ENV/bin/python" tools/run_nbs.py --skip 02_baselines.ipynb 03_multitask.ipynb
