"The library's architecture, as README's 'How the library is built' states it: one job per module, imports only from the modules above."
import ast, re
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent/'mtl_course'
# The layers, bottom first: a module may import only from modules listed before it (README, "How the library is built")
ORDER = ['tasks', 'images', 'compat', 'script', 'utkface', 'synthetic', 'data', 'course', 'model', 'losses', 'metrics', 'learner', 'baselines',
         'weighting', 'stats', 'recipes', 'affinity', 'runs', 'inference', 'interpret', 'checkpoint', 'share', 'fast', 'distributed', 'cli', 'all']
MAX_LINES = 60

def _modules() -> dict:
    return {p.stem: ast.parse(p.read_text()) for p in sorted(LIB.glob('*.py')) if not p.stem.startswith('_')}

def _lib_imports(tree) -> list:
    "(module, [names]) for every `from .x import ...` / `from mtl_course.x import ...` anywhere in the file"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None and (node.level == 1 or node.module.startswith('mtl_course.')):
            out.append((node.module.split('.')[-1], [a.name for a in node.names]))
    return out

def test_every_module_is_in_the_layers():
    assert sorted(_modules()) == sorted(ORDER)

def test_imports_only_from_modules_above():
    bad = [f"{m} imports {src}" for m, tree in _modules().items() for src, _ in _lib_imports(tree)
           if ORDER.index(src) >= ORDER.index(m)]
    assert not bad, bad

def test_no_private_names_across_modules():
    bad = [f"{m}: from {src} import {n}" for m, tree in _modules().items() for src, names in _lib_imports(tree)
           for n in names if n.startswith('_')]
    assert not bad, bad

def test_no_long_functions():
    long = [f"{m}.{n.name}: {n.end_lineno - n.lineno + 1} lines" for m, tree in _modules().items() for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_LINES]
    assert not long, long

def test_every_module_names_its_job():
    "nbdev writes the notebook's `> summary` as the module docstring: one line saying what the module is for"
    missing = [m for m, tree in _modules().items() if not (ast.get_docstring(tree) or '').strip()]
    assert not missing, missing

def test_teaching_chapters_export_nothing():
    "Numbered chapters tell the story and use the library; reference notebooks (a letter after the number, 09, 10) define it"
    nbs = LIB.parent/'nbs'
    chapters = [p for p in nbs.glob('0[1-8]_*.ipynb')]
    assert len(chapters) == 9
    exporting = [p.name for p in chapters if re.search(r'#\|\s*(default_exp|export)\b', p.read_text())]
    assert not exporting, exporting
