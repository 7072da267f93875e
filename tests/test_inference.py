"Chapter 6: export/load in a fresh process, predict on any input (or fail clearly), folder -> CSV, the CLI, bad dataset files, reproducibility"
import json, shutil, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from PIL import Image
from mtl_course.data import utkface_df, utkface_tasks, mtl_dls
from mtl_course.learner import fit_tasks, mtl_learner, valid_metrics
from mtl_course.images import ImageError, load_rgb
from mtl_course.inference import (export_learner, load_model, predict, predict_items, predict_folder,
                                  MTLInterpretation, top_losses, confusion_matrix, age_error_by_band, group_report,
                                  Checkpoint, resume_fit)
from mtl_course.cli import main

TINY = dict(arch='tiny_cnn', size=32, bs=32, num_workers=0)

@pytest.fixture(scope='session')
def trained(faces):
    "A tiny model trained for 1 epoch on the shared synthetic faces, and its exported file"
    df = utkface_df(faces, verbose=False)
    learn, metrics = fit_tasks(df, faces, utkface_tasks(), epochs=1, seed=0, **TINY)
    fname = export_learner(learn, faces.parent/'model.pkl')
    return learn, fname, df, faces

def _jpeg_bytes(size=(48, 48), color=(120, 90, 60)) -> bytes:
    import io
    b = io.BytesIO(); Image.new('RGB', size, color).save(b, format='JPEG'); return b.getvalue()

def _bad_files(folder:Path) -> dict:
    "Unusable files with valid UTKFace names -> the words their reason must contain"
    good = _jpeg_bytes()
    bad = {'20_0_0_1.jpg.chip.jpg': (good[:len(good)//2], 'truncated'), '21_0_0_2.jpg.chip.jpg': (b'', 'empty file'),
           '22_0_0_3.jpg.chip.jpg': (b'just some text, not a JPEG', 'not an image'),
           '23_0_0_4.jpg.chip.jpg': (np.random.default_rng(0).bytes(2000), 'not an image'),
           '24_0_0_5.jpg.chip.jpg': (b'\x00' * 4 + good[4:], 'not an image')}  # header overwritten
    for n, (b, _) in bad.items(): (folder/n).write_bytes(b)
    return {n: w for n, (_, w) in bad.items()}

# ---------------------------------------------------------------- dataset loading

def test_utkface_df_skips_and_reports_bad_files(tmp_path, capsys):
    (tmp_path/'26_1_2_20170116174525125.jpg.chip.jpg').write_bytes(_jpeg_bytes())
    want = _bad_files(tmp_path)
    labels = {'0_0_0_6.jpg.chip.jpg': 'age 0', '200_0_0_7.jpg.chip.jpg': 'age 200', '30_3_0_8.jpg.chip.jpg': 'gender code 3',
              '30_0_7_9.jpg.chip.jpg': 'race code 7', '30_0_9.jpg.chip.jpg': 'expected 4', 'notes.txt': 'not a UTKFace name'}
    for n in labels: (tmp_path/n).write_bytes(_jpeg_bytes())
    df = utkface_df(tmp_path, verify=True)
    assert df.fname.tolist() == ['26_1_2_20170116174525125.jpg.chip.jpg']
    why = dict(df.attrs['skipped'])
    assert set(why) == set(want) | set(labels)
    for n, w in {**want, **labels}.items(): assert why[n].startswith(n) and w in why[n], why[n]
    out = capsys.readouterr().out
    assert f'skipped {len(why)} of {len(why) + 1} files' in out and '20_0_0_1.jpg.chip.jpg' in out
    # without verify only the names are checked: the bad images are kept
    assert len(utkface_df(tmp_path, verbose=False)) == 1 + len(want)

def test_utkface_df_empty_and_missing(tmp_path):
    (tmp_path/'empty').mkdir()
    with pytest.raises(ValueError, match='empty: the folder has no files'): utkface_df(tmp_path/'empty', verify=True)
    with pytest.raises(FileNotFoundError, match='nowhere: no such folder'): utkface_df(tmp_path/'nowhere')

# ---------------------------------------------------------------- loading any image

@pytest.fixture
def odd_images(tmp_path) -> dict:
    "Grayscale, RGBA, palette, 16-bit, 1x1 and huge image files"
    d = {}
    Image.new('L', (40, 30), 128).save(d.setdefault('gray', tmp_path/'gray.jpg'))
    rgba = np.zeros((20, 20, 4), np.uint8); rgba[..., 0] = 200; rgba[:10, :, 3] = 255
    Image.fromarray(rgba).save(d.setdefault('rgba', tmp_path/'rgba.png'))
    p = Image.new('P', (16, 16)); p.putpalette([10, 20, 30] * 256); p.save(d.setdefault('palette', tmp_path/'pal.gif'))
    Image.fromarray(np.full((24, 24), 32896, np.uint16)).save(d.setdefault('gray16', tmp_path/'gray16.png'))
    Image.new('RGB', (1, 1), (5, 6, 7)).save(d.setdefault('tiny', tmp_path/'tiny.png'))
    Image.new('RGB', (4000, 3000), (50, 60, 70)).save(d.setdefault('huge', tmp_path/'huge.jpg'), quality=50)
    return d

def test_load_rgb_modes(odd_images):
    imgs = {k: load_rgb(f) for k, f in odd_images.items()}
    assert all(im.mode == 'RGB' for im in imgs.values())
    assert imgs['gray'].getpixel((0, 0)) == (128, 128, 128)
    assert imgs['rgba'].getpixel((0, 0)) == (200, 0, 0) and imgs['rgba'].getpixel((0, 19)) == (255, 255, 255)  # transparent -> white
    assert imgs['palette'].getpixel((0, 0)) == (10, 20, 30)
    assert imgs['gray16'].getpixel((0, 0)) == (128, 128, 128)  # scaled, not clipped to 255
    assert imgs['tiny'].size == (1, 1) and max(imgs['huge'].size) <= 1024

def test_load_rgb_errors(tmp_path):
    want = _bad_files(tmp_path)
    for n, w in want.items():
        with pytest.raises(ImageError) as e: load_rgb(tmp_path/n)
        assert str(e.value).startswith(str(tmp_path/n)) and w in str(e.value)
    with pytest.raises(FileNotFoundError, match='missing.jpg: no such file'): load_rgb(tmp_path/'missing.jpg')
    with pytest.raises(IsADirectoryError, match='is a folder'): load_rgb(tmp_path)
    with pytest.raises(ImageError, match='channels first'): load_rgb(np.zeros((3, 32, 32), np.uint8))
    with pytest.raises(TypeError, match='expected a file path'): load_rgb(42)

# ---------------------------------------------------------------- predict

KEYS = ['age', 'gender', 'race', 'gender_probs', 'race_probs']

def test_predict_path_pil_array(trained):
    learn, fname, df, faces = trained
    f = faces/df.fname[0]
    p = predict(learn, f)
    assert list(p) == KEYS and type(p) is dict
    assert isinstance(p['age'], float) and isinstance(p['gender'], str) and isinstance(p['race'], str)
    assert set(p['gender_probs']) == {'female', 'male'} and set(p['race_probs']) == {'Asian', 'Black', 'Indian', 'Others', 'White'}
    assert all(isinstance(v, float) for v in [*p['gender_probs'].values(), *p['race_probs'].values()])
    assert abs(sum(p['race_probs'].values()) - 1) < 1e-5 and p['gender'] == max(p['gender_probs'], key=p['gender_probs'].get)
    img = Image.open(f)
    assert predict(learn, img) == p and predict(learn, np.asarray(img)) == p and predict(learn, str(f)) == p

def test_predict_odd_images(trained, odd_images):
    learn = trained[0]
    for k, f in odd_images.items(): assert list(predict(learn, f)) == KEYS, k
    assert list(predict(learn, np.zeros((1, 1), np.uint8))) == KEYS

def test_predict_bad_input_names_the_file(trained, tmp_path):
    learn = trained[0]
    for n, w in _bad_files(tmp_path).items():
        with pytest.raises(ImageError) as e: predict(learn, tmp_path/n)
        assert n in str(e.value) and w in str(e.value)
    with pytest.raises(FileNotFoundError, match='missing.jpg'): predict(learn, tmp_path/'missing.jpg')

def test_predict_folder_csv(trained, tmp_path, capsys):
    learn = trained[0]
    folder = tmp_path/'imgs'; (folder/'sub').mkdir(parents=True)
    for i in range(3): Image.new('RGB', (40, 40), (40*i, 90, 60)).save(folder/f'ok{i}.jpg')
    (folder/'sub'/'half.jpg').write_bytes(_jpeg_bytes()[:300]); (folder/'text.jpg').write_text('hello')
    (folder/'readme.txt').write_text('not an image')
    res = predict_folder(learn, folder, csv=tmp_path/'preds.csv')
    assert res.fname.tolist() == ['ok0.jpg', 'ok1.jpg', 'ok2.jpg']
    assert sorted(n for n, _ in res.attrs['skipped']) == ['sub/half.jpg', 'text.jpg'] and res.attrs['ignored'] == ['readme.txt']
    out = capsys.readouterr().out
    assert 'skipped 2 of 5' in out and 'sub/half.jpg' in out and 'text.jpg' in out
    csv = pd.read_csv(tmp_path/'preds.csv')
    assert list(csv.columns) == ['fname', 'age', 'gender', 'gender_prob', 'race', 'race_prob'] and len(csv) == 3
    (tmp_path/'empty').mkdir()
    assert len(predict_folder(learn, tmp_path/'empty')) == 0
    with pytest.raises(FileNotFoundError, match='nowhere: no such folder'): predict_folder(learn, tmp_path/'nowhere')

def test_load_model_errors(tmp_path):
    (tmp_path/'empty.pkl').write_bytes(b''); (tmp_path/'junk.pkl').write_bytes(b'not a pickle')
    with pytest.raises(FileNotFoundError, match='nope.pkl: no such model file'): load_model(tmp_path/'nope.pkl')
    with pytest.raises(ValueError, match='empty.pkl: empty file'): load_model(tmp_path/'empty.pkl')
    with pytest.raises(ValueError, match='junk.pkl: not a model exported'): load_model(tmp_path/'junk.pkl')

def test_interpretation(trained):
    it = MTLInterpretation(trained[0])
    tl = top_losses(it, 'gender', k=4)
    assert len(tl) == 4 and tl.loss.is_monotonic_decreasing
    assert confusion_matrix(it, 'race').values.sum() == len(it)
    assert age_error_by_band(it).n.sum() == len(it)
    gr = group_report(it, by='race')
    assert gr.n.sum() == len(it) and set(gr.race) <= {'Asian', 'Black', 'Indian', 'Others', 'White'}

# ---------------------------------------------------------------- a fresh process, the CLI

def _files(trained, n=4):
    _, _, df, faces = trained
    return [faces/f for f in df.fname[:n]]

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

def test_checkpoint_resume(faces, tmp_path):
    from fastai.callback.core import Callback, CancelFitException
    from fastai.torch_core import set_seed
    df, tasks = utkface_df(faces, verbose=False).iloc[:120], utkface_tasks()
    class Crash(Callback):
        order = 80
        def after_epoch(self): raise CancelFitException()
    def make(cbs=None):
        set_seed(0, reproducible=True)
        dls = mtl_dls(df, faces, tasks, size=32, bs=32, seed=0, num_workers=0)
        return mtl_learner(dls, tasks, arch='tiny_cnn', path=tmp_path, cbs=cbs)
    full = make(); full.fit_one_cycle(2, 1e-2)
    crashed = make(cbs=[Checkpoint('run'), Crash()]); crashed.fit_one_cycle(2, 1e-2)
    assert (tmp_path/'models'/'run.pth').exists()
    resumed = make(); resume_fit(resumed, 'run', 2, 1e-2)
    assert valid_metrics(resumed) == valid_metrics(full)
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), full.model.state_dict().values()))
