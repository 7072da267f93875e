"Getting UTKFace as a user does: archives, the MTL_COURSE_DATA variable, a download (stubbed: no network in tests) and being offline."
import tarfile
import pytest
from PIL import Image
from mtl_course.utkface import get_utkface, utkface_df

def _jpgs(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names: Image.new('RGB', (8, 8), (200, 150, 120)).save(folder/n, format='JPEG')
    return folder

def test_get_utkface_archives_and_env(tmp_path, monkeypatch):
    src = _jpgs(tmp_path/'src'/'UTKFace', ['26_1_2_20170116174525125.jpg.chip.jpg', '3_0_0_20170109150557335.jpg.chip.jpg'])
    with tarfile.open(tmp_path/'UTKFace.tar.gz', 'w:gz') as t: t.add(src, arcname='UTKFace')
    folder = get_utkface(tmp_path/'UTKFace.tar.gz')
    assert folder.name == 'UTKFace' and len(utkface_df(folder)) == 2
    monkeypatch.setenv('MTL_COURSE_DATA', str(src))
    assert get_utkface() == src
    monkeypatch.setenv('MTL_COURSE_DATA', str(tmp_path/'nope'))
    with pytest.raises(FileNotFoundError, match='MTL_COURSE_DATA'): get_utkface()

def test_get_utkface_offline_error(tmp_path):
    with pytest.raises(RuntimeError, match='offline') as e: get_utkface(url='http://127.0.0.1:9/UTKFace.tar.gz')
    assert 'MTL_COURSE_DATA' in str(e.value)

def test_get_utkface_counts_images(tmp_path):
    "A download with the wrong number of images is an error, not a silent partial dataset (a `file://` address stands in for the server)"
    import shutil
    src = _jpgs(tmp_path/'srv'/'UTKFace', ['26_1_2_20170116174525125.jpg.chip.jpg'])
    url = f"file://{shutil.make_archive(tmp_path/'srv'/'UTKFace', 'gztar', src.parent)}"
    folder = get_utkface(url=url, expected=1, md5=None)
    assert sorted(p.name for p in folder.iterdir()) == [src.iterdir().__next__().name]
    with pytest.raises(RuntimeError, match='expected 23708 images'): get_utkface(url=url, md5=None)

def _split_in_fresh_process(folder, seed) -> list:
    "The (file, split) pairs `mtl_dls` trains/validates/tests on, computed in a new Python process with `seed`"
    import json, subprocess, sys
    code = f'''
import json
from mtl_course.utkface import utkface_df
from mtl_course.data import mtl_dls
df = utkface_df({str(folder)!r}, verbose=False)
dls = mtl_dls(df, {str(folder)!r}, size=16, bs=8, seed={seed}, num_workers=0)
print(json.dumps(dict(train=sorted(dls.train_ds.items.fname), valid=sorted(dls.valid_ds.items.fname), test=sorted(dls.test_items.fname))))
'''
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])

def test_split_is_fixed_across_runs_seeds_and_processes(faces):
    "The split depends on the file names alone: two seeds, two fresh processes and this process agree; no test image is trained or validated on"
    from mtl_course.data import add_split
    a, b = _split_in_fresh_process(faces, 0), _split_in_fresh_process(faces, 123)
    assert a == b
    here = add_split(utkface_df(faces, verbose=False))
    assert {k: sorted(here.fname[here.split == k]) for k in ('train', 'valid', 'test')} == a
    assert not set(a['test']) & (set(a['train']) | set(a['valid'])) and len(a['test']) > 0

def test_synthetic_faces_built_once_by_concurrent_processes(tmp_path):
    "Two processes asking for the same synthetic set at the same moment (notebooks tested in parallel, DDP ranks) both get the whole set"
    import subprocess, sys
    dest = tmp_path/'faces'
    code = f"from mtl_course.synthetic import synthetic_faces; p = synthetic_faces(n=300, size=32, dest={str(dest)!r}); print(len(list(p.glob('*.jpg'))))"
    ps = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in outs]
    assert [o.strip().splitlines()[-1] for o, _ in outs] == ['300', '300']
    assert sorted(q.name for q in tmp_path.iterdir()) == ['faces', 'faces.lock']  # no temporary folder left behind

def test_tensor_cache_built_once_by_concurrent_processes(faces, tmp_path):
    "Two processes decoding the same tensor cache at once (DDP ranks, parallel notebooks): one decodes, the other waits and opens its file"
    import subprocess, sys
    cache = tmp_path/'cache'
    code = f'''
from mtl_course.utkface import utkface_df
from mtl_course.fast import tensor_cache
df = utkface_df({str(faces)!r}, verbose=False)
arr, kept = tensor_cache(df, {str(faces)!r}, 32, cache_dir={str(cache)!r}, verbose=False)
print(arr.shape[0], int(arr.sum()))'''
    ps = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in outs]
    a, b = [o.strip().splitlines()[-1] for o, _ in outs]
    assert a == b and a.startswith('300 ')
    assert sorted(p.suffix for p in cache.iterdir()) == ['.json', '.lock', '.npy']  # no temporary file left behind
