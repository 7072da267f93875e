#!/usr/bin/env bash
# Fails when mtl_course/ is not what `nbdev_export` makes of nbs/, when a notebook is not `nbdev_clean`-ed,
# or when README.md is not what tools/make_readme.py renders from nbs/index.ipynb.
# It fixes what it finds (so you can review and commit), but exits non-zero so CI goes red.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r mtl_course "$tmp/lib"; cp -r nbs "$tmp/nbs"; cp README.md "$tmp/README.md"
nbdev_export
nbdev_clean
python tools/make_readme.py
rc=0
if ! diff -r -x __pycache__ "$tmp/lib" mtl_course >/dev/null; then
  echo "ERROR: mtl_course/ was out of sync with nbs/ (never hand-edit mtl_course/*.py). nbdev_export has updated it:"
  diff -r -x __pycache__ "$tmp/lib" mtl_course | head -40 || true; rc=1
fi
if ! diff -r -x .ipynb_checkpoints "$tmp/nbs" nbs >/dev/null; then
  echo "ERROR: notebooks were not clean; nbdev_clean has cleaned them:"; diff -rq "$tmp/nbs" nbs || true; rc=1
fi
if ! diff -q "$tmp/README.md" README.md >/dev/null; then
  echo "ERROR: README.md was not rendered from nbs/index.ipynb; tools/make_readme.py has updated it."; rc=1
fi
[ $rc -eq 0 ] && echo "sync: library, notebooks and README are in sync"
exit $rc
