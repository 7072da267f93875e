#!/usr/bin/env bash
# The package as users get it: build the sdist and the wheel, check what they contain, install the sdist into a clean
# environment, then simulate Colab (tools/colab_sim.py) with that sdist.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# `build` makes the sdist, then the wheel *from the sdist*: a file missing from the sdist fails here
"$PY" -m build --outdir "$tmp/dist" . > "$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; exit 1; }
sdist=$(ls "$tmp"/dist/mtl_course-*.tar.gz); wheel=$(ls "$tmp"/dist/mtl_course-*.whl)
"$PY" - "$sdist" "$wheel" <<'PY'
import sys, tarfile, zipfile
sdist, wheel = sys.argv[1:]
names = {n.split('/', 1)[1] for n in tarfile.open(sdist).getnames() if '/' in n}
need = {'settings.ini', 'LICENSE', 'README.md', 'setup.py', 'MANIFEST.in', 'mtl_course/__init__.py', 'mtl_course/cli.py', 'mtl_course/script.py'}
assert need <= names, f"sdist lacks {sorted(need - names)}"
w = zipfile.ZipFile(wheel); wn = w.namelist()
meta = w.read(next(n for n in wn if n.endswith('.dist-info/METADATA'))).decode()
reqs = [l.split(':', 1)[1].strip() for l in meta.splitlines() if l.startswith('Requires-Dist:')]
assert any(n.endswith('.dist-info/licenses/LICENSE') or n.endswith('.dist-info/LICENSE') for n in wn), "wheel has no LICENSE"
assert 'mtl-course = mtl_course.cli:main' in w.read(next(n for n in wn if n.endswith('entry_points.txt'))).decode()
core = [r for r in reqs if 'extra ==' not in r]
bad = [r for r in core if r.replace(' ', '').startswith(('torch==', 'torchvision==', 'fastai==')) or 'fastcore<2' in r.replace(' ', '')]
assert not bad, f"pinned runtime requirements: {bad}"
extras = sorted({r.split('extra ==')[1].strip(' "\'') for r in reqs if 'extra ==' in r})
print(f"sdist: {len(names)} files incl. settings.ini, LICENSE, README.md; wheel: LICENSE, entry point mtl-course")
print("runtime requirements:", '; '.join(core)); print("extras:", ', '.join(extras))
PY
python3 -m venv "$tmp/clean"
"$tmp/clean/bin/python" -m pip install -q --no-deps "$sdist" 2>&1 | grep -v "^WARNING: Location" || true
(cd "$tmp" && "$tmp/clean/bin/python" -c "import mtl_course, importlib.metadata as m; assert m.version('mtl_course') == mtl_course.__version__; print('sdist installs into a clean environment:', m.version('mtl_course'))")
test -x "$tmp/clean/bin/mtl-course"
"$PY" tools/colab_sim.py "$sdist"
