"""Which tasks to learn together (chapter 5, nbs/05_task_affinity.ipynb; nbs/05a_affinity.ipynb): train every subset of the tasks over several seeds.

Writes, in --out:
  runs.csv       one row per model: seed, tasks, n_tasks, task metrics, wall time (appended as runs finish)
  gain.csv       per (task, trained with): mean gain (%) vs single-task and its 95 % CI over seeds, + = the partner helps
  groupings.csv  every partition of the tasks into trained groups: networks, per-task gain, Δm ± 95 % CI
  tag.csv        TAG's lookahead affinity Z[step on, loss of] of the all-task runs, mean over seeds (with --tag_every > 0)
  layers.csv     the tasks' gradient cosine on each layer of the shared body (`LayerAffinity`), mean over seeds, and the branch
                 point `choose_branch` reads from it (with --tag_every > 0)
  summary.md     the tables as text, with the budget and the machine
  affinity.png   the gain matrix as a heatmap
UTKFace, reduced CPU budget (nbs/results/affinity_utkface_cpu; the multi-task models with chapter 4's scaled weights, reusing the
single-task runs of bench/weighting.py's grid with the same data, budget and seeds):
  python bench/affinity.py --data /path/to/UTKFace_64px --size 48 --epochs 6 --seeds "0 1 2" --strategy scaled --singles_from nbs/results/weighting_utkface_cpu/runs.csv --out nbs/results/affinity_utkface_cpu
UTKFace, GPU:  python bench/affinity.py --data /path/to/UTKFace --arch resnet18 --scratch --size 64 --bs 128 --epochs 5 --lr 5e-3 --seeds "0 1 2" --strategy scaled --out nbs/results/affinity_utkface_gpu
Synthetic faces, offline (checks that everything runs):  python bench/affinity.py --seeds "0 1 2" --epochs 6 --out mtl_out/affinity_synthetic
A strategy of your own (registered with `@register_weighting('my_name')` in my_strategy.py):  add --imports my_strategy.py --strategy my_name
"""
from __future__ import annotations
import sys, time
from pathlib import Path
import pandas as pd, torch
from mtl_course.utkface import utkface_tasks
from mtl_course.affinity import gain_matrix, gain_table, groupings, plot_gain_matrix, choose_branch
from mtl_course.runs import affinity_runs
from mtl_course.model import create_mtl_body
sys.path.insert(0, str(Path(__file__).parent))
from common import machine, md_table, faces, dl_kwargs, import_all  # bench/common.py
from mtl_course.script import call_parse  # after the star imports: the same flags under fastcore 1 and 2


def layer_count(arch) -> int:
    "Number of layers of `arch`'s body (what `mtl_model(branch=...)` counts from the end)"
    body, _ = create_mtl_body(arch, pretrained=False)
    return len(body) if isinstance(body, torch.nn.Sequential) else 1


@call_parse
def main(data:str=None, # folder or archive of UTKFace images (default: synthetic faces)
         out:str='mtl_out/affinity', # output folder
         seeds:str='0 1 2', # space-separated seeds
         tasks:str='age gender race', # tasks (space separated)
         strategy:str='', # loss weighting of the multi-task runs (a chapter-4 strategy name; '' = the tasks' own weights)
         imports:str='', # space-separated .py files or modules to import first, e.g. one that registers a strategy with `@register_weighting`
         arch:str='tiny_cnn', # backbone
         epochs:int=8, # epochs per model (the same for all)
         size:int=64, # image size
         bs:int=64, # batch size
         lr:float=1e-2, # learning rate (fit_one_cycle)
         scratch:bool=False, # no pretrained weights (pretrained archs only)
         n_synthetic:int=2000, # number of synthetic faces when no --data is given
         singles_from:str=None, # runs.csv of an earlier grid with the same settings: reuse its single-task runs (they don't depend on --strategy)
         tag_every:int=5, # record TAG's lookahead affinity every this many batches of the all-task runs (0: off)
         threads:int=0, # torch CPU threads (0: torch's default); on a shared CPU, 1 avoids thread contention
         workers:int=-1, # DataLoader workers (-1: fastai's default)
        ):
    "Train all single-task, pair and all-task models over several seeds; write runs, gain matrix (mean ± 95 % CI), groupings, TAG and a heatmap"
    t0 = time.time()
    import_all(imports)  # before anything is looked up by name: they may register strategies
    if threads: torch.set_num_threads(threads)
    dl_kw = dl_kwargs(workers)
    path, df, source = faces(data, n_synthetic, size)
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    csv = out/'runs.csv'
    if csv.exists(): csv.unlink()
    seeds = [int(s) for s in seeds.split()]
    ts, sizes = utkface_tasks(tasks), None
    if singles_from:
        prev = pd.read_csv(singles_from)  # an affinity runs.csv, or a weighting one (its 'single' rows)
        if 'n_tasks' not in prev: prev['n_tasks'] = prev.tasks.str.split().str.len()
        if 'strategy' in prev: prev = prev[prev.strategy == 'single'].drop(columns='strategy')
        prev = prev[['seed', 'tasks', 'n_tasks'] + [c for c in prev.columns if c not in ('seed', 'tasks', 'n_tasks')]]
        prev = prev[(prev.n_tasks == 1) & prev.seed.isin(seeds) & prev.tasks.isin([t.name for t in ts])]
        if len(prev) != len(seeds) * len(ts): raise ValueError(f"{singles_from} lacks single-task runs for some of seeds {seeds}")
        prev.to_csv(csv, index=False)
        sizes = range(2, len(ts) + 1)
        print(f"reusing {len(prev)} single-task runs from {singles_from}")
    res = affinity_runs(df, path, ts, seeds=seeds, sizes=sizes, strategy=strategy or None, csv=csv, tag_every=tag_every,
                        arch=arch, epochs=epochs, size=size, bs=bs, lr=lr, pretrained=False if scratch else None, **dl_kw)
    runs = pd.read_csv(csv)
    m, ci, gt, gr = gain_matrix(runs), gain_matrix(runs, 'ci95'), gain_table(runs), groupings(runs)
    gt.to_csv(out/'gain.csv', index=False); gr.to_csv(out/'groupings.csv', index=False)
    tag_md = ''
    if 'tag' in res.attrs:
        res.attrs['tag'].to_csv(out/'tag_runs.csv', index=False)
        z = res.attrs['tag'].astype({'z': 'float64'}).groupby(['step on', 'loss of'], sort=False).z.mean().unstack()
        z.to_csv(out/'tag.csv')
        tag_md = f"\n\nTAG lookahead affinity Z[step on, loss of] (all-task runs, every {tag_every} batches, mean over seeds)\n\n{md_table(z.round(5).reset_index())}\n"
        lay = res.attrs['layers'].drop(columns='seed').groupby('layer').mean()
        lay['mean'] = lay.mean(axis=1)
        lay.to_csv(out/'layers.csv')
        k = choose_branch(lay.drop(columns='mean'), layer_count(arch))
        tag_md += (f"\nGradient cosine of each task pair on each layer of the shared body (all-task runs, mean over seeds); "
                   f"`choose_branch`: give each task its own copy of the last **{k}** layer(s) (`branch={k}`)\n\n{md_table(lay.round(3).reset_index())}\n")
    budget = (f"{len(df)} images ({source}); {arch}, size {size}, bs {bs}, {epochs} epochs of fit_one_cycle at lr {lr}, "
              f"weighting {strategy or 'tasks own weights'}, seeds {seeds}; {machine()}; total {time.time()-t0:.0f} s")
    (out/'summary.md').write_text(f"{budget}\n\ngain (%) of the row task when trained with the column task(s), + = better\n\n"
                                  f"{md_table(m.round(1).reset_index())}\n\n95 % CI half-widths\n\n{md_table(ci.round(1).reset_index())}\n\n"
                                  f"groupings\n\n{md_table(gr.round(2))}{tag_md}")
    ax = plot_gain_matrix(m, ci, title=f"gain %, {arch}, {strategy or 'equal'} weights, {epochs} epochs, {len(seeds)} seeds ({'UTKFace' if data else 'synthetic'})")
    ax.figure.tight_layout(); ax.figure.savefig(out/'affinity.png', dpi=100)
    print(f"\n{budget}\n{m.round(1).to_string()}\n{gr.round(2).to_string(index=False)}\nwrote runs.csv, gain.csv, groupings.csv, tag.csv, summary.md, affinity.png in {out}")
