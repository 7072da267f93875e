"""Helpers shared by the benchmark scripts in bench/ (not part of the library)."""
from __future__ import annotations
import importlib, os, platform, runpy
from pathlib import Path
import pandas as pd, torch
from mtl_course.cli import load_faces


def md_table(df:pd.DataFrame) -> str:
    "A DataFrame as a markdown table (without the optional `tabulate` dependency)"
    rows = [list(map(str, df.columns))] + [[str(v) for v in r] for r in df.itertuples(index=False)]
    return '\n'.join(['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(df.columns)] + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])


def machine() -> str:
    "A short description of the hardware the benchmark ran on"
    if torch.cuda.is_available(): return f"GPU {torch.cuda.get_device_name(0)}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    n = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return f"CPU only, {n} cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, {torch.get_num_threads()} threads"


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
