"""Does the notebooks' install cell leave Colab's torch, torchvision, fastai and fastcore alone?

    python tools/colab_sim.py [SDIST]      (SDIST: a built mtl_course-*.tar.gz; default: build one from this checkout)

Builds an environment that holds Colab's versions -- torch 2.11.0+cu128 and torchvision 0.26.0+cu128 as metadata-only stubs
(the CUDA builds are 3 GB; pip only reads their metadata), real fastai 2.8.8 and fastcore 2.2.12 -- on top of the dev
environment's other packages (.venv, reused through a .pth file). Then it
  1. checks every notebook starts with the same install cell and that the cell does nothing outside Colab;
  2. asks pip what a plain `pip install SDIST` would change (a dry run with a report), without the cell's constraints;
  3. runs the cell itself, as Colab would (its `/content` guard true, the git URL replaced by SDIST);
  4. checks pip changed none of torch, torchvision, fastai, fastcore, and that the library imports and its CLI answers on that stack.
Exits non-zero on any failure. Needs the package index (PyPI) for fastai/fastcore and the sdist's build requirements.
"""
import json, os, shutil, subprocess, sys, tempfile, textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB = {'torch': '2.11.0+cu128', 'torchvision': '0.26.0+cu128', 'fastai': '2.8.8', 'fastcore': '2.2.12'}
URL = 'mtl_course @ git+https://github.com/mtl-course/mtl_course.git'
GUARD = "os.path.isdir('/content')"

def sh(*cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode: sys.exit(f"FAILED: {' '.join(map(str, cmd))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r

def install_cell() -> str:
    "The first code cell of every notebook; they must all be the same"
    cells = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        code = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        cells[nb.name] = ''.join(code[0]['source']) if code else ''
    first = cells['01_data.ipynb']
    bad = [n for n, s in cells.items() if s != first and n != 'index.ipynb']
    if bad: sys.exit(f"FAILED: these notebooks do not start with 01_data's install cell: {bad}")
    if URL not in first or GUARD not in first: sys.exit(f"FAILED: the install cell lacks {URL!r} or {GUARD!r}:\n{first}")
    return first

def stub(site: Path, name: str, version: str, requires=()):
    "A distribution with metadata and no code: what pip sees of Colab's CUDA build"
    d = site/f"{name}-{version}.dist-info"; d.mkdir()
    meta = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *[f"Requires-Dist: {r}" for r in requires]]
    (d/'METADATA').write_text('\n'.join(meta) + '\n'); (d/'INSTALLER').write_text('colab-sim\n')
    (d/'RECORD').write_text(f"{d.name}/METADATA,,\n{d.name}/INSTALLER,,\n{d.name}/RECORD,,\n")

def versions(py: Path) -> dict:
    out = sh(py, '-c', "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in %r}))" % list(COLAB)).stdout
    return json.loads(out)

def main(sdist: str | None = None):
    cell = install_cell()
    exec(compile(cell, 'install-cell', 'exec'), {})  # outside Colab: must do nothing (no /content here)
    print("install cell: the same in every notebook; a no-op outside Colab")
    tmp = Path(tempfile.mkdtemp(prefix='colab-sim-'))
    try:
        if sdist is None:
            sh(sys.executable, '-m', 'build', '--sdist', '--outdir', tmp/'dist', ROOT)
            sdist = str(next((tmp/'dist').glob('mtl_course-*.tar.gz')))
        env = tmp/'colab'; sh(sys.executable, '-m', 'venv', env); py = env/'bin'/'python'
        purelib = 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
        site = Path(sh(py, '-c', purelib).stdout.strip())
        (site/'_reuse_dev_env.pth').write_text(sh(sys.executable, '-c', purelib).stdout)
        stub(site, 'torch', COLAB['torch'], ['filelock', 'typing-extensions', 'sympy', 'networkx', 'jinja2', 'fsspec'])
        stub(site, 'torchvision', COLAB['torchvision'], ['numpy', 'torch==2.11.0', 'pillow!=8.3.*,>=5.3.0'])
        sh(py, '-m', 'pip', 'install', '-q', '--no-deps', f"fastai=={COLAB['fastai']}", f"fastcore=={COLAB['fastcore']}")
        before = versions(py)
        assert before == COLAB, f"the simulated Colab stack is wrong: {before}"
        print("simulated Colab stack:", before)
        # 2. what would a plain install change? (no constraints: the requirement ranges alone must fit)
        sh(py, '-m', 'pip', 'install', '--dry-run', '-q', '--report', tmp/'report.json', sdist)
        would = {i['metadata']['name'].lower(): i['metadata']['version'] for i in json.loads((tmp/'report.json').read_text())['install']}
        touched = sorted(set(would) & set(COLAB))
        print("a plain `pip install` would install:", would)
        if touched: sys.exit(f"FAILED: a plain install would replace {touched}")
        # 3. the cell itself, as in Colab
        code = cell.replace(GUARD, 'True').replace(URL, f"mtl_course @ {Path(sdist).resolve().as_uri()}")
        sh(py, "-c", code, cwd=tmp)
        after = versions(py)
        if after != before: sys.exit(f"FAILED: the install cell changed Colab's stack: {before} -> {after}")
        # 4. the library on Colab's fastai and fastcore (torch is the dev env's real one behind the stubs)
        check = textwrap.dedent("""
            import importlib.metadata as m, fastai, fastcore
            import mtl_course.all  # every module
            assert fastai.__version__ == '2.8.8' and fastcore.__version__ == '2.2.12', (fastai.__version__, fastcore.__version__)
            print('mtl_course', m.version('mtl_course'), 'imports on fastai', fastai.__version__, 'and fastcore', fastcore.__version__)""")
        print(sh(py, '-c', check, cwd=tmp).stdout.strip())
        helptext = sh(env/'bin'/'mtl-course', 'compare', '--help', cwd=tmp).stdout
        assert '--n_synthetic' in helptext and '--n-synthetic' in helptext, helptext
        print("unchanged by the install cell:", after)
        print("colab-sim: OK")
    finally:
        if os.environ.get('KEEP_SIM'): print("kept", tmp)  # KEEP_SIM=1: leave the environment for a look
        else: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main(*sys.argv[1:2])
