"Task affinity (chapter 5) in a fresh process: bench/affinity.py on tiny settings, with a strategy of one's own and reused single-task runs."
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--tasks', 'age gender', '--n_synthetic', '300', '--size', '32', '--bs', '32', '--epochs', '1', '--seeds', '0',
        '--threads', '1', '--workers', '0', '--tag_every', '2']

def _bench(*args):
    return subprocess.run([sys.executable, str(ROOT/'bench'/'affinity.py'), *TINY, *args], capture_output=True, text=True, timeout=600, cwd=ROOT)

def test_affinity_bench(tmp_path, half_age_py):
    "Every subset of two tasks; then the pair again, weighted by a registered strategy of one's own, reusing the single-task runs"
    a = tmp_path/'equal'
    r = _bench('--out', str(a))  # MTL_COURSE_HOME: a temp dir (conftest)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert pd.read_csv(a/'runs.csv').tasks.tolist() == ['age', 'gender', 'age gender']
    gain = pd.read_csv(a/'gain.csv')
    assert sorted(gain.task) == ['age', 'gender'] and np.isfinite(gain.gain).all()
    assert pd.read_csv(a/'groupings.csv').n_networks.tolist() == [1, 2]
    assert pd.read_csv(a/'tag.csv', index_col=0).shape == (2, 2)
    assert pd.read_csv(a/'layers.csv', index_col=0).columns.tolist() == ['age~gender', 'mean']  # one row per conv layer of tiny_cnn
    assert len(pd.read_csv(a/'layers.csv')) == 5 and 'branch=' in (a/'summary.md').read_text()
    assert (a/'affinity.png').stat().st_size > 0 and 'groupings' in (a/'summary.md').read_text()
    b = tmp_path/'half_age'
    r = _bench('--imports', str(half_age_py), '--strategy', 'half_age', '--singles_from', str(a/'runs.csv'), '--out', str(b))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'reusing 2 single-task runs' in r.stdout
    runs = pd.read_csv(b/'runs.csv')
    assert runs.tasks.tolist() == ['age', 'gender', 'age gender']
    assert runs[runs.n_tasks == 1].equals(pd.read_csv(a/'runs.csv')[lambda d: d.n_tasks == 1])
    assert 'weighting half_age' in (b/'summary.md').read_text()
