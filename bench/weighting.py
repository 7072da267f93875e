"""Honest comparison of the loss-weighting strategies of chapter 4 (nbs/04_weighting.ipynb; the strategies: nbs/04a_weighting.ipynb).

Trains the three single-task baselines and every strategy with the same budget over several seeds and writes
  runs.csv     one row per run: strategy, seed, tasks, task metrics, wall time (appended as runs finish)
  summary.csv  per strategy: mean and 95 % CI (t-distribution) of each metric, Δm (%) vs single-task, s/run
  summary.md   the same table as text, with the budget and the machine
  weighting.png
UTKFace, reduced CPU budget (what produced nbs/results/weighting_utkface_cpu; about an hour on 2 cores; faces pre-resized to 64 px):
  python bench/weighting.py --data /path/to/UTKFace_64px --size 48 --epochs 6 --seeds "0 1 2" --out nbs/results/weighting_utkface_cpu
UTKFace, GPU (bench/gpu_all.sh):
  python bench/weighting.py --data /path/to/UTKFace --arch resnet18 --scratch --size 64 --bs 128 --epochs 5 --lr 5e-3 --seeds "0 1 2" --out nbs/results/weighting_utkface_gpu
Synthetic faces, offline (checks that everything runs):
  python bench/weighting.py --seeds "0 1 2" --epochs 6 --out mtl_out/weighting_synthetic
Rebuild summary.csv/summary.md/weighting.png from an existing (possibly partial) runs.csv:  add --summarise_only
A strategy of your own: a file that registers it with `@register_weighting('my_name')`, then
  python bench/weighting.py --imports my_strategy.py --strategies "scaled my_name" ...
"""
from __future__ import annotations

import sys, time
from pathlib import Path
import pandas as pd, torch
from mtl_course.utkface import utkface_tasks
from mtl_course.weighting import STRATEGIES
from mtl_course.stats import summarise_runs, format_summary, plot_summary
from mtl_course.runs import weighting_runs
sys.path.insert(0, str(Path(__file__).parent))
from common import md_table, machine, faces, dl_kwargs, import_all  # bench/common.py
from mtl_course.script import call_parse  # after the star imports: the same flags under fastcore 1 and 2


@call_parse
def main(data:str=None, # folder or archive of UTKFace images (default: synthetic faces)
         out:str='mtl_out/weighting', # output folder
         strategies:str=' '.join(STRATEGIES), # space-separated names for `weighting_cbs` (combine with '+', e.g. scaled+pcgrad)
         imports:str='', # space-separated .py files or modules to import first, e.g. one that registers a strategy with `@register_weighting`
         seeds:str='0 1 2', # space-separated seeds; every model is trained once per seed
         singles:bool=True, # also train the single-task baselines (needed for Δm)
         tasks:str='age gender race', # tasks (space separated)
         arch:str='tiny_cnn', # backbone
         epochs:int=8, # epochs per model (the same for all)
         size:int=64, # image size
         bs:int=64, # batch size
         lr:float=1e-2, # learning rate (fit_one_cycle)
         scratch:bool=False, # no pretrained weights (pretrained archs only)
         n_synthetic:int=2000, # number of synthetic faces when no --data is given
         resume:bool=False, # keep the runs already in runs.csv and append to it
         threads:int=0, # torch CPU threads (0: torch's default); on a shared CPU, 1 avoids thread contention
         workers:int=-1, # DataLoader workers (-1: fastai's default)
         summarise_only:bool=False, # train nothing: rebuild the summary, table and plot from the runs.csv in `out`
        ):
    "Train single-task baselines and every loss-weighting strategy over several seeds; write runs, summary (mean ± 95 % CI, Δm) and a plot"
    t0 = time.time()
    import_all(imports)  # before anything is looked up by name: they may register strategies
    if threads: torch.set_num_threads(threads)
    dl_kw = dl_kwargs(workers)
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    csv = out/'runs.csv'
    seeds = [int(s) for s in seeds.split()]
    if summarise_only:
        runs = pd.read_csv(csv)
        per_seed = runs.groupby('seed').size()
        if (per_seed < per_seed.max()).any():  # an interrupted grid: keep only the seeds whose runs all finished
            print(f"dropping unfinished seed(s) {per_seed[per_seed < per_seed.max()].index.tolist()}")
            runs = runs[runs.seed.isin(per_seed[per_seed == per_seed.max()].index)]
            runs.to_csv(csv, index=False)
        seeds, n_img = sorted(runs.seed.unique().tolist()), ('?' if data else n_synthetic)
        source = f"UTKFace images in {data}" if data else f'{n_synthetic} synthetic faces'
        source += ', summarised from an existing runs.csv'
    else:
        path, df, source = faces(data, n_synthetic, size)
        ts = utkface_tasks(tasks)
        n_img = len(df)
        if csv.exists() and not resume: csv.unlink()
        weighting_runs(df, path, ts, strategies.split(), seeds=seeds, singles=singles, csv=csv, arch=arch, epochs=epochs,
                       size=size, bs=bs, lr=lr, pretrained=False if scratch else None, **dl_kw)
        runs = pd.read_csv(csv)
    summary = summarise_runs(runs)
    summary.to_csv(out/'summary.csv', index=False)
    budget = (f"{n_img} images ({source}); {arch}, size {size}, bs {bs}, {epochs} epochs of fit_one_cycle at lr {lr}, "
              f"seeds {seeds}; " + ("machine: as when runs.csv was written (see wall_s)" if summarise_only else f"{machine()}; total {time.time()-t0:.0f} s"))
    (out/'summary.md').write_text(f"{budget}\n\n{md_table(format_summary(summary))}\n")
    plot_summary(summary, title=f"{arch}, {epochs} epochs, {len(seeds)} seeds ({'UTKFace' if data else 'synthetic'})").savefig(out/'weighting.png', dpi=100)
    print(f"\n{budget}\n{format_summary(summary).to_string(index=False)}\nwrote {csv}, summary.csv, summary.md, weighting.png in {out}")
