"""Helpers shared by the benchmark scripts in bench/ (not part of the library)."""
from __future__ import annotations
import os, platform
import pandas as pd, torch


def md_table(df:pd.DataFrame) -> str:
    "A DataFrame as a markdown table (without the optional `tabulate` dependency)"
    rows = [list(map(str, df.columns))] + [[str(v) for v in r] for r in df.itertuples(index=False)]
    return '\n'.join(['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(df.columns)] + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])


def machine() -> str:
    "A short description of the hardware the benchmark ran on"
    if torch.cuda.is_available(): return f"GPU {torch.cuda.get_device_name(0)}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    n = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return f"CPU only, {n} cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, {torch.get_num_threads()} threads"
