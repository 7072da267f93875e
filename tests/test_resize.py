"bench/resize.py in a fresh process: the pre-resized copy the real-face grids run on keeps every name and label."
import subprocess, sys
from pathlib import Path
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

def _resize(*args):
    return subprocess.run([sys.executable, str(ROOT/'bench'/'resize.py'), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=ROOT)

def test_resize(tmp_path):
    src = tmp_path/'faces'; (src/'part2').mkdir(parents=True)
    names = ['26_1_2_20170116174525125.jpg.chip.jpg', '3_0_0_20170110.jpg.chip.jpg']
    Image.new('RGB', (200, 200), (200, 100, 50)).save(src/names[0])
    Image.new('RGB', (200, 200), (20, 100, 50)).save(src/'part2'/names[1])
    r = _resize(src, tmp_path/'small', '--max_size', '64')
    assert r.returncode == 0, r.stderr[-3000:]
    out = sorted((tmp_path/'small').iterdir())
    assert [p.name for p in out] == sorted(names) and all(Image.open(p).size == (64, 64) for p in out)
    r = _resize(tmp_path/'nothing', tmp_path/'x')
    assert r.returncode == 1 and 'not a folder of images' in r.stderr
