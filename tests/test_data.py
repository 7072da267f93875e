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

def test_get_utkface_counts_images(tmp_path, monkeypatch):
    "A download with the wrong number of images is an error, not a silent partial dataset"
    src = _jpgs(tmp_path/'dl'/'UTKFace', ['26_1_2_20170116174525125.jpg.chip.jpg'])
    import fastdownload
    monkeypatch.setattr(fastdownload.FastDownload, 'get', lambda self, url, force=False: src.parent)
    assert get_utkface(expected=1) == src
    with pytest.raises(RuntimeError, match='expected 23708 images'): get_utkface()
