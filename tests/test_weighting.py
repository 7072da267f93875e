"Loss weighting (chapter 4) in a fresh process: bench/weighting.py on tiny settings, with a strategy of one's own registered from a file."
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--n_synthetic', '300', '--size', '32', '--bs', '32', '--epochs', '1', '--seeds', '0', '--threads', '1', '--workers', '0']

def _bench(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT/'bench'/'weighting.py'), *TINY, *args], capture_output=True, text=True, timeout=600, cwd=cwd)

def test_weighting_bench_with_a_registered_strategy(tmp_path, half_age_py):
    "A strategy registered with `@register_weighting` in a file of one's own runs by name through `--imports`, next to a built-in combination"
    out = tmp_path/'out'
    r = _bench('--imports', str(half_age_py), '--strategies', 'scaled+pcgrad half_age', '--out', str(out))  # MTL_COURSE_HOME: a temp dir (conftest)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = pd.read_csv(out/'runs.csv')
    assert runs.strategy.tolist() == ['single'] * 3 + ['scaled+pcgrad', 'half_age']
    summary = pd.read_csv(out/'summary.csv')
    assert summary.strategy.tolist() == ['single', 'scaled+pcgrad', 'half_age'] and np.isfinite(summary.delta_m).all()
    assert '| half_age |' in (out/'summary.md').read_text() and (out/'weighting.png').stat().st_size > 0
    r = _bench('--summarise_only', '--out', str(out))  # the summary again, from runs.csv alone
    assert r.returncode == 0, r.stderr[-3000:]
    assert pd.read_csv(out/'summary.csv').strategy.tolist() == summary.strategy.tolist()

def test_weighting_bench_unknown_strategy_fails_before_training(tmp_path):
    r = _bench('--strategies', 'scaled nope', '--out', str(tmp_path/'out'))
    assert r.returncode != 0 and "unknown strategy 'nope'" in r.stderr
    assert not (tmp_path/'out'/'runs.csv').exists()  # not even the single-task runs were trained
