"Data loading: UTKFace names, folders, archives, downloads (offline) and DataLoaders."
import tarfile
import pytest
from PIL import Image
from mtl_course.tasks import *
from mtl_course.data import *
from mtl_course.synthetic import *

REAL_BROKEN = '61_1_20170109142408075.jpg.chip.jpg'      # race field missing in the real dataset
REAL_GENDER3 = '61_3_20170109150557335.jpg.chip.jpg'     # three fields and a gender of 3
STAMP16 = '45_0_3_2017011619540385.jpg.chip.jpg'         # 16-digit time stamp, labels valid

def _jpgs(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names: Image.new('RGB', (8, 8), (200, 150, 120)).save(folder/n, format='JPEG')
    return folder

def test_parse_valid_and_malformed():
    assert parse_utkface_name('26_1_2_20170116174525125.jpg.chip.jpg') == dict(age=26, gender='female', race='Asian', stamp='20170116174525125')
    assert parse_utkface_name(STAMP16)['race'] == 'Indian'
    for bad, why in [(REAL_BROKEN, '3 fields'), (REAL_GENDER3, '3 fields'), ('61_3_0_20170109150557335.jpg.chip.jpg', 'gender code 3'),
                     ('200_0_0_20170109150557335.jpg.chip.jpg', 'age 200'), ('30_0_9_1.jpg.chip.jpg', 'race code 9'),
                     ('hello.jpg', 'not a UTKFace name'), ('26_1_2_x.jpg.chip.jpg', 'not a UTKFace name')]:
        with pytest.raises(ValueError, match=why) as e: parse_utkface_name(bad)
        assert bad in str(e.value)  # the error names the file

def test_utkface_df_keeps_valid_reports_broken(tmp_path, capsys):
    good = [f'{a}_{g}_{r}_2017010912000000{i}.jpg.chip.jpg' for i, (a, g, r) in enumerate([(1, 0, 0), (116, 1, 4), (30, 0, 2)])]
    _jpgs(tmp_path, good + [REAL_BROKEN, REAL_GENDER3, STAMP16])
    df = utkface_df(tmp_path)
    assert len(df) == 4 and STAMP16 in set(df.fname)
    assert sorted(n for n, _ in df.attrs['skipped']) == sorted([REAL_BROKEN, REAL_GENDER3])
    out = capsys.readouterr().out
    assert 'skipped 2 of 6 files' in out and REAL_BROKEN in out
    # labels come from the names, never shifted
    row = df.set_index('fname').loc[STAMP16]
    assert (row.age, row.gender, row.race) == (45, 'male', 'Indian')

def test_utkface_df_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such folder'): utkface_df(tmp_path/'missing')
    f = tmp_path/'x.zip'; f.write_bytes(b'')
    with pytest.raises(NotADirectoryError, match='x.zip'): utkface_df(f)
    (tmp_path/'empty').mkdir()
    with pytest.raises(ValueError, match='empty: the folder has no files'): utkface_df(tmp_path/'empty')

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

def test_get_utkface_counts_images(tmp_path, monkeypatch):
    "A download with the wrong number of images is an error, not a silent partial dataset"
    src = _jpgs(tmp_path/'dl'/'UTKFace', ['26_1_2_20170116174525125.jpg.chip.jpg'])
    import fastdownload
    monkeypatch.setattr(fastdownload.FastDownload, 'get', lambda self, url, force=False: src.parent)
    assert get_utkface(expected=1) == src
    with pytest.raises(RuntimeError, match='expected 23708 images'): get_utkface()

def test_synthetic_faces_deterministic(tmp_path):
    a = make_synthetic_faces(tmp_path/'a', n=12, size=32, seed=5)
    b = make_synthetic_faces(tmp_path/'b', n=12, size=32, seed=5)
    assert [f.read_bytes() for f in sorted(a.iterdir())] == [f.read_bytes() for f in sorted(b.iterdir())]
    df = utkface_df(a)
    assert len(df) == 12 and df.attrs['skipped'] == []
    p = synthetic_faces(n=12, size=32, seed=5)  # cached under MTL_COURSE_HOME
    assert p == synthetic_faces(n=12, size=32, seed=5) and len(list(p.glob('*.jpg'))) == 12

@pytest.mark.parametrize('names', ['age', 'gender race', 'age gender race'])
def test_dls_for_1_2_3_tasks(faces, names):
    df = utkface_df(faces)
    tasks = utkface_tasks(names)
    dls = mtl_dls(df, faces, tasks, size=32, bs=16, num_workers=0)
    b = dls.one_batch()
    assert len(b) == 1 + len(tasks) and b[0].shape == (16, 3, 32, 32)

def test_stratified_split_is_reproducible(faces):
    df = utkface_df(faces)
    s1, s2 = stratified_splitter(0.2, seed=3)(df), stratified_splitter(0.2, seed=3)(df)
    assert s1 == s2 and not set(s1[0]) & set(s1[1]) and len(s1[0]) + len(s1[1]) == len(df)
