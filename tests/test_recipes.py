"The recipe grid of chapter 4 in a fresh process: bench/recipes.py on tiny settings, its summary, resume and the choice on valid."
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--n_synthetic', '200', '--size', '24', '--bs', '32', '--epochs', '1', '--threads', '1', '--workers', '0']

def _bench(*args):
    return subprocess.run([sys.executable, str(ROOT/'bench'/'recipes.py'), *TINY, *args], capture_output=True, text=True, timeout=600, cwd=ROOT)

def test_recipes_bench(tmp_path):
    out = tmp_path/'out'
    r = _bench('--recipes', 'equal std std@3x', '--seeds', '0', '--out', str(out))  # MTL_COURSE_HOME: a temp dir (conftest)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = pd.read_csv(out/'runs.csv')
    assert runs.recipe.tolist() == ['single'] * 3 + ['single+std', 'equal', 'std', 'std@3x']
    assert runs.set_index('recipe').loc['std@3x', 'images_seen'] == 3 * runs.set_index('recipe').loc['std', 'images_seen']
    s = pd.read_csv(out/'summary.csv')
    assert s.recipe.tolist() == ['single', 'single+std', 'equal', 'std', 'std@3x'] and np.isfinite(s.delta_m).all()
    md = (out/'summary.md').read_text()
    assert 'Chosen on valid' in md and '| std@3x |' in md and 'test split' in md
    r = _bench('--recipes', 'equal std std@3x', '--seeds', '0 1', '--resume', '--out', str(out))  # seed 0 is complete: only seed 1 trains
    assert r.returncode == 0, r.stderr[-3000:]
    runs2 = pd.read_csv(out/'runs.csv')
    assert runs2.seed.value_counts().to_dict() == {0: 7, 1: 7} and runs2.iloc[:7].equals(runs)
    r = _bench('--recipes', 'equal std std@3x std+age_w2', '--seeds', '0 1', '--resume', '--out', str(out))  # a new recipe: only it trains
    assert r.returncode == 0, r.stderr[-3000:]
    runs3 = pd.read_csv(out/'runs.csv')
    assert runs3.iloc[:14].equals(runs2) and runs3.iloc[14:].recipe.tolist() == ['std+age_w2'] * 2

def test_recipes_bench_unknown_recipe_fails_before_training(tmp_path):
    r = _bench('--recipes', 'std nope', '--seeds', '0', '--out', str(tmp_path/'out'))
    assert r.returncode != 0 and "unknown recipe 'nope'" in r.stderr
    assert not (tmp_path/'out'/'runs.csv').exists()

def test_recipes_bench_train_frac(tmp_path):
    "--train_frac trains on a fixed part of the training images; valid and test stay whole"
    full, half = tmp_path/'full', tmp_path/'half'
    for out, extra in ((full, []), (half, ['--train_frac', '0.5'])):
        r = _bench('--recipes', 'equal', '--seeds', '0', '--out', str(out), *extra)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = pd.read_csv(full/'runs.csv'), pd.read_csv(half/'runs.csv')
    assert (b.images_seen < 0.6 * a.images_seen).all() and '50% of the training images' in (half/'summary.md').read_text()
