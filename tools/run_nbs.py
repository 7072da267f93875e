"""Run notebooks' code cells in a fresh IPython shell each, as `nbdev_test` does, without nbdev.

nbdev 2.4 (and its execnb) need fastcore<2, so `nbdev_test` can only run on the dev stack. This runner needs only IPython, so the
notebooks also run on the users' newest stack (fastcore 2): `make stack-latest` calls it there.

    python tools/run_nbs.py [NOTEBOOK ...] [--skip NAME ...]   default: every nbs/*.ipynb but the --skip ones;
                                                                 cells flagged slow, gpu or `eval: false` are skipped

Each notebook runs in its own process, in nbs/ (as nbdev_test does), two at a time; exit code 1 if any cell of any notebook fails.
"""
import json, os, re, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SKIP = re.compile(r'^#\|\s*(slow|gpu|eval:\s*false)\s*$', re.M)

def cells(nb:Path) -> list:
    "The code cells of `nb` that a test run executes"
    out = []
    for c in json.loads(nb.read_text())['cells']:
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        if SKIP.search(src): continue
        out.append('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
    return out

def run_one(nb:str) -> None:
    "Child process: run the cells of `nb` in one IPython shell; exit 1 on the first error"
    from IPython.core.interactiveshell import InteractiveShell
    os.environ.setdefault('MPLBACKEND', 'Agg')
    sh = InteractiveShell.instance()
    for i, src in enumerate(cells(Path(nb))):
        r = sh.run_cell(src, silent=True)
        if not r.success:
            print(f"{nb}: cell {i} failed:\n{src[:600]}", file=sys.stderr)
            sys.exit(1)

def _run(nb:Path) -> tuple:
    t0 = time.time()
    r = subprocess.run([sys.executable, __file__, '--one', nb.name], cwd=nb.parent, capture_output=True, text=True)
    return nb.name, r.returncode, time.time() - t0, r.stderr[-4000:]

def main(argv:list) -> int:
    if argv[:1] == ['--one']: run_one(argv[1]); return 0
    skip = argv[argv.index('--skip') + 1:] if '--skip' in argv else []
    argv = argv[:argv.index('--skip')] if '--skip' in argv else argv
    root = Path(__file__).resolve().parent.parent/'nbs'
    nbs = [Path(a).resolve() for a in argv] or sorted(p for p in root.glob('*.ipynb') if p.name not in skip)
    if skip: print(f"skipped: {' '.join(skip)}")
    failed = []
    with ThreadPoolExecutor(2) as ex:
        for name, rc, secs, err in ex.map(_run, nbs):
            print(f"{'ok  ' if rc == 0 else 'FAIL'} {secs:6.1f} s  {name}", flush=True)
            if rc: failed.append(name); print(err, file=sys.stderr)
    print(f"notebooks: {len(nbs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
