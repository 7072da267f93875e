"Sharing a model as its users would: a safe export loaded by a fresh Python that cannot unpickle, and `mtl-course demo` queried over HTTP"
import json, os, shutil, socket, subprocess, sys, time
from pathlib import Path
import pytest
from mtl_course.utkface import utkface_df, utkface_tasks
from mtl_course.learner import fit_tasks
from mtl_course.inference import export_learner, load_model, predict, predict_items

@pytest.fixture(scope='module')
def exported(faces, tmp_path_factory):
    "A tiny model trained for 1 epoch, exported both ways: (learn, pickle file, safe folder, some face files)"
    df = utkface_df(faces, verbose=False)
    learn, _ = fit_tasks(df, faces, utkface_tasks(), epochs=1, seed=0, arch='tiny_cnn', size=32, bs=32, num_workers=0)
    d = tmp_path_factory.mktemp('exported')
    return learn, export_learner(learn, d/'model.pkl'), export_learner(learn, d/'model', safe=True), [faces/f for f in df.fname[:6]]

def test_safe_export_loads_in_a_fresh_process_without_pickle(exported):
    "With pickle and torch.load disabled, a new Python loads the safe folder and predicts exactly what the pickled export predicts here"
    learn, pkl, folder, files = exported
    code = f"""
import json, pickle, torch
from mtl_course.inference import load_model, predict_items
def _refuse(*a, **k): raise RuntimeError('pickle was used')
pickle.load = pickle.loads = torch.load = _refuse
class _NoUnpickler:
    def __init__(self, *a, **k): _refuse()
pickle.Unpickler = _NoUnpickler
m = load_model({str(folder)!r})
print(json.dumps(predict_items(m, {[str(f) for f in files]!r}, verbose=False).to_dict(orient='list')))
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    fresh = json.loads(r.stdout.strip().splitlines()[-1])
    ref = predict_items(load_model(pkl), files, verbose=False)
    assert fresh['gender'] == ref.gender.tolist() and fresh['race'] == ref.race.tolist()
    assert max(abs(a - b) for a, b in zip(fresh['age'], ref.age)) < 1e-4
    assert max(abs(a - b) for a, b in zip(fresh['race_prob'], ref.race_prob)) < 1e-5

def _free_port() -> int:
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close(); return port

def _serve(args:list, port:int):
    "Start `mtl-course demo` in a new process and wait until it answers; returns (process, gradio_client.Client)"
    from gradio_client import Client
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False'}
    p = subprocess.Popen([sys.executable, '-m', 'mtl_course.cli', 'demo', *args, '--port', str(port)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(240):
        if p.poll() is not None: raise AssertionError(p.stdout.read()[-3000:])
        try: return p, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception: time.sleep(0.5)
    p.kill(); raise AssertionError("the demo did not start in 120 s")

def test_demo_answers_like_predict(exported):
    "`mtl-course demo MODEL` on localhost, queried through gradio_client as the page does: the same numbers as `predict`; a bad upload is named"
    pytest.importorskip('gradio'); pytest.importorskip('gradio_client')
    from gradio_client import handle_file
    learn, _, folder, files = exported
    proc, client = _serve([str(folder)], _free_port())
    try:
        summary, age, gender, race = client.predict(handle_file(str(files[0])), api_name='/predict')
        p = predict(learn, files[0])
        assert abs(age - round(p['age'], 1)) < 0.051 and f"**gender**: {p['gender']}" in summary
        assert gender['label'] == p['gender'] and race['label'] == p['race']
        for c in race['confidences']: assert abs(c['confidence'] - p['race_probs'][c['label']]) < 1e-5
        bad = files[0].parent.parent/'notes.jpg'; bad.write_text('not an image')
        with pytest.raises(Exception, match='notes.jpg cannot be used: not an image'): client.predict(handle_file(str(bad)), api_name='/predict')
    finally: proc.terminate(); proc.wait(30)

@pytest.mark.skipif(not os.environ.get('MTL_SLOW') or not shutil.which('chromium'), reason="slow: set MTL_SLOW=1 (needs Debian's chromium)")
def test_demo_screenshot(exported, tmp_path):
    "A screenshot of the page with a prediction, taken with headless Chromium: look at it (MTL_SCREENSHOT=path keeps a copy)"
    pytest.importorskip('gradio')
    learn, _, folder, files = exported
    port = _free_port()
    proc, _ = _serve([str(folder), '--example', str(files[0])], port)
    try:
        out = tmp_path/'demo.png'
        subprocess.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', f'--screenshot={out}',
                        '--window-size=1280,1100', '--virtual-time-budget=20000', f'http://127.0.0.1:{port}/'], capture_output=True, timeout=180)
        assert out.exists() and out.stat().st_size > 20_000, "no screenshot"
        if os.environ.get('MTL_SCREENSHOT'): shutil.copy(out, os.environ['MTL_SCREENSHOT'])
    finally: proc.terminate(); proc.wait(30)

def test_space_app_runs_as_is(exported, tmp_path):
    "space/app.py, as a Hugging Face Space runs it: the model from $MTL_COURSE_MODEL (here a local folder), a page with the example's prediction"
    pytest.importorskip('gradio')
    _, _, folder, files = exported
    space = tmp_path/'space'; shutil.copytree(Path(__file__).parent.parent/'space', space); shutil.copy(files[0], space/'example.jpg')
    code = "import runpy; ns = runpy.run_path('app.py'); print(type(ns['demo']).__name__, ns['model'])"
    r = subprocess.run([sys.executable, '-c', code], cwd=space, capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'MTL_COURSE_MODEL': str(folder), 'GRADIO_ANALYTICS_ENABLED': 'False'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1].startswith('Blocks SafeModel(tiny_cnn'), r.stdout[-500:]
    shutil.copytree(folder, space/'model')  # without the variable: the folder next to app.py
    env = {k: v for k, v in os.environ.items() if k != 'MTL_COURSE_MODEL'}
    r = subprocess.run([sys.executable, '-c', code], cwd=space, capture_output=True, text=True, timeout=300, env={**env, 'GRADIO_ANALYTICS_ENABLED': 'False'})
    assert r.returncode == 0 and 'SafeModel' in r.stdout, r.stderr[-3000:]
