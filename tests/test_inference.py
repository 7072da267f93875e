"What the notebooks cannot check in their own process: an exported model in a fresh Python, `mtl-course predict` from a shell, a run resumed by another process; and bit-identical seeded runs"
import json, shutil, subprocess, sys
import pandas as pd, pytest, torch
from mtl_course.utkface import utkface_df, utkface_tasks
from mtl_course.learner import fit_tasks, valid_metrics
from mtl_course.inference import export_learner, load_model, predict, predict_items
from mtl_course.checkpoint import CheckpointCallback
from mtl_course.cli import main

TINY = dict(arch='tiny_cnn', size=32, bs=32, num_workers=0)

@pytest.fixture(scope='session')
def trained(faces):
    "A tiny model trained for 1 epoch on the shared synthetic faces, and its exported file"
    df = utkface_df(faces, verbose=False)
    learn, metrics = fit_tasks(df, faces, utkface_tasks(), epochs=1, seed=0, **TINY)
    fname = export_learner(learn, faces.parent/'model.pkl')
    return learn, fname, df, faces

def _files(trained, n=4):
    _, _, df, faces = trained
    return [faces/f for f in df.fname[:n]]

# ---------------------------------------------------------------- a fresh process, the CLI

def test_export_load_fresh_process(trained, tmp_path):
    "A new Python that imports only fastai (and, while unpickling, the installed mtl_course) predicts exactly the same"
    learn, fname = trained[:2]
    files = [str(f) for f in _files(trained)]
    code = f"""
import json, sys, warnings; warnings.simplefilter('ignore')
from fastai.learner import load_learner
learn = load_learner({str(fname)!r})
assert not any(m.startswith('__main__') for m in map(lambda c: type(c).__module__, [learn.model, learn.loss_func]))
from mtl_course.inference import predict
print(json.dumps([predict(learn, f) for f in {files!r}]))
"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    fresh = json.loads(res.stdout.strip().splitlines()[-1])
    assert fresh == [predict(learn, f) for f in files]  # json round-trips floats exactly
    loaded = load_model(fname)
    a, b = predict_items(learn, files, verbose=False), predict_items(loaded, files, verbose=False)
    pd.testing.assert_frame_equal(a, b, check_exact=True)

def test_cli_predict(trained, tmp_path, mtl_course_cmd):
    fname = trained[1]
    folder = tmp_path/'imgs'; folder.mkdir()
    for f in _files(trained, 3): shutil.copy(f, folder/f.name)
    (folder/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 broken')
    one = _files(trained, 4)[3]
    res = subprocess.run([*mtl_course_cmd, 'predict', str(fname), str(folder), str(one), str(tmp_path/'missing.jpg'), '--out', str(tmp_path/'p.csv')],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert 'broken.jpg' in res.stdout and 'missing.jpg: no such file' in res.stdout and 'saved 4 rows' in res.stdout
    csv = pd.read_csv(tmp_path/'p.csv')
    assert len(csv) == 4 and csv.fname.tolist()[-1] == str(one)
    bad = subprocess.run([*mtl_course_cmd, 'predict', str(tmp_path/'nope.pkl'), str(one)], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and 'nope.pkl: no such model file' in bad.stderr and 'Traceback' not in bad.stderr

def test_cli_help(capsys):
    assert main([]) == 2 and main(['--help']) == 0
    out = capsys.readouterr().out
    assert 'compare' in out and 'predict' in out
    with pytest.raises(SystemExit) as e: main(['predict', '--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert 'mtl-course predict' in out and 'MODEL' in out.upper() and '--out' in out

# ---------------------------------------------------------------- reproducibility

def test_seeded_runs_identical(faces):
    df = utkface_df(faces, verbose=False).iloc[:120]
    kw = dict(epochs=1, seed=3, **TINY)
    (l1, m1), (l2, m2) = fit_tasks(df, faces, utkface_tasks(), **kw), fit_tasks(df, faces, utkface_tasks(), **kw)
    assert m1 == m2
    assert all(torch.equal(a, b) for a, b in zip(l1.model.state_dict().values(), l2.model.state_dict().values()))

# The same learner in this process and in a fresh one
_MAKE = '''
from fastai.torch_core import set_seed
from mtl_course.utkface import utkface_df, utkface_tasks
from mtl_course.data import mtl_dls
from mtl_course.learner import mtl_learner

def make(faces, path, cbs=None):
    df, tasks = utkface_df(faces, verbose=False).iloc[:120], utkface_tasks()
    set_seed(0, reproducible=True)
    dls = mtl_dls(df, faces, tasks, size=32, bs=32, seed=0, num_workers=0)
    return mtl_learner(dls, tasks, arch='tiny_cnn', path=path, cbs=cbs)
'''

def test_checkpoint_resume_in_a_new_process(faces, tmp_path):
    "A run that crashed after its first epoch, resumed by another Python process, ends exactly as the uninterrupted run"
    from fastai.callback.core import Callback, CancelFitException
    class Crash(Callback):
        order = CheckpointCallback.order + 1
        def after_epoch(self): raise CancelFitException()
    ns = {}; exec(_MAKE, ns); make = ns['make']
    full = make(faces, tmp_path); full.fit_one_cycle(2, 1e-2)
    make(faces, tmp_path, cbs=[CheckpointCallback('run'), Crash()]).fit_one_cycle(2, 1e-2)
    code = _MAKE + f"""
from mtl_course.checkpoint import resume_fit
learn = make({str(faces)!r}, {str(tmp_path)!r})
resume_fit(learn, 'run', 2, 1e-2)
learn.save('resumed', with_opt=False)
"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    resumed = make(faces, tmp_path).load('resumed', with_opt=False)
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), full.model.state_dict().values()))
    assert valid_metrics(resumed) == valid_metrics(full)

def test_fast_path_learner_exports_and_predicts_in_a_fresh_process(faces, tmp_path):
    "A learner trained on `fast_dls` exports (pickled and safe), and a new Python loads both and predicts what it predicted"
    from mtl_course.fast import fast_dls
    from mtl_course.learner import mtl_learner
    df = utkface_df(faces, verbose=False)
    dls = fast_dls(df, faces, utkface_tasks(), size=32, bs=32, device='cpu', cache_dir=tmp_path/'cache', aug_seed=0, verbose=False)
    learn = mtl_learner(dls, utkface_tasks(), arch='tiny_cnn')
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    files = [str(faces/f) for f in df.fname[:5]]
    pkl, safe = export_learner(learn, tmp_path/'fast.pkl'), export_learner(learn, tmp_path/'fast_safe', safe=True)
    code = f"""
import json
from mtl_course.inference import load_model, predict_items
print(json.dumps([predict_items(load_model(m), {files!r}, verbose=False).age.tolist() for m in ({str(pkl)!r}, {str(safe)!r})]))
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ages = json.loads(r.stdout.strip().splitlines()[-1])
    here = predict_items(learn, files, verbose=False).age.tolist()
    assert max(abs(a - b) for a, b in zip(ages[0], here)) < 1e-4 and max(abs(a - b) for a, b in zip(ages[1], here)) < 1e-4
