import os, sys, pytest
from pathlib import Path
os.environ.setdefault('MPLBACKEND', 'Agg')

@pytest.fixture(scope='session')
def faces(tmp_path_factory):
    "A small synthetic UTKFace-style folder shared by the tests (made in a temp dir, never in the user's cache)"
    from mtl_course.synthetic import make_synthetic_faces
    return make_synthetic_faces(tmp_path_factory.mktemp('faces'), n=300, size=32, seed=0)

@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    "Keep every test's cache (downloads, synthetic sets) in its own temp dir"
    monkeypatch.setenv('MTL_COURSE_HOME', str(tmp_path/'home'))
    monkeypatch.delenv('MTL_COURSE_DATA', raising=False)

@pytest.fixture
def mtl_course_cmd() -> list:
    "How a test starts `mtl-course` in a fresh process: the installed entry point, else `main` through this Python"
    exe = Path(sys.executable).parent/'mtl-course'
    return [str(exe)] if exe.exists() else [sys.executable, '-c', 'import sys; from mtl_course.cli import main; sys.exit(main())']

@pytest.fixture
def half_age_py(tmp_path) -> Path:
    "A file of one's own that registers a weighting strategy, 'half_age', for `bench/*.py --imports`"
    f = tmp_path/'half_age.py'
    f.write_text('''
from mtl_course.weighting import LossWeighting, register_weighting

@register_weighting('half_age')
class HalfAge(LossWeighting):
    "Age's loss at half weight, the other tasks' at 1"
    def setup(self): self.set_weights([.5 if n == 'age' else 1. for n in self.tnames])
''')
    return f
