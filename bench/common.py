"""Helpers shared by the benchmark scripts in bench/ (not part of the library)."""
from __future__ import annotations
import importlib, runpy
from pathlib import Path
import pandas as pd
from mtl_course.cli import load_faces
from mtl_course.script import machine  # noqa: F401  (the bench scripts import it from here)


def md_table(df:pd.DataFrame) -> str:
    "A DataFrame as a markdown table (without the optional `tabulate` dependency)"
    rows = [list(map(str, df.columns))] + [[str(v) for v in r] for r in df.itertuples(index=False)]
    return '\n'.join(['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(df.columns)] + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])


def faces(data:str|None, n_synthetic:int, size:int) -> tuple[Path, pd.DataFrame, str]:
    "The images a benchmark runs on — UTKFace from `data` (a folder or archive), else `n_synthetic` synthetic faces — as `(path, df, description)`"
    path, df, _ = load_faces(data, n_synthetic, size)  # the `mtl-course` commands' own loader
    return path, df, (f'UTKFace images in {path}' if data else f'{n_synthetic} synthetic faces')


def dl_kwargs(workers:int) -> dict:
    "DataLoader keyword arguments for a --workers option (-1: fastai's default)"
    return {} if workers < 0 else dict(num_workers=workers)


def import_all(imports:str):
    "Run each space-separated `.py` file or import each module in `imports` (e.g. one that registers a strategy with `@register_weighting`)"
    for m in imports.split():
        if m.endswith('.py'): runpy.run_path(m)
        else: importlib.import_module(m)
