"Smoke test of bench/speed.py on the CPU: tiny settings, every run finishes and the table is written (no timing assertions)."
import subprocess, sys, time
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

def test_speed_bench_smoke(tmp_path):
    out = tmp_path/'speed'
    cmd = [sys.executable, str(ROOT/'bench'/'speed.py'), '--arch', 'tiny_cnn', '--size', '32', '--bs', '64', '--epochs', '1',
           '--n_synthetic', '300', '--workers', '0', '--ceiling_steps', '5', '--threads', '1', '--out', str(out)]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)  # MTL_COURSE_HOME: a temp dir (conftest)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = pd.read_csv(out/'speed.csv')
    assert res.run.tolist() == ['a_std', 'b_fast', 'b_fast_stock', 'c_ceiling']
    assert 'error' not in res.columns, res
    assert (res.img_s > 0).all()
    for run in ('a_std', 'b_fast', 'b_fast_stock'):
        row = res.set_index('run').loc[run]
        assert 0 <= row.gender_acc <= 1 and 0 <= row.race_acc <= 1 and row.age_mae > 0
    md = (out/'speed.md').read_text()
    assert 'b_fast/a_std' in md and 'b_fast/c_ceiling' in md and '| a_std |' in md
    print(f"smoke run took {time.time()-t0:.0f} s")
