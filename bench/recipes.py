"""Which way of training one multi-task model pays off: every recipe of nbs/04c_recipes.ipynb against its own single-task
baselines, over several seeds, chosen on the validation split and scored on the fixed test split (chapter 4).

Writes to --out:
  runs.csv     one row per model: recipe, baseline, seed, tasks, test metrics, valid_ metrics, epochs, images_seen, wall_s
               (appended as each model finishes; --resume continues an interrupted grid)
  summary.csv  per recipe: test metrics (mean and 95 % CI over seeds), Δm vs its own single-task baselines on test and on valid,
               epochs, images seen and seconds per model
  summary.md   the same as a table, with the budget, the machine and the recipe chosen on valid
  recipes.png  the summary as a plot
Reduced CPU budget on real faces (what produced nbs/results/recipes_utkface_cpu; about an hour on 2 cores):
  python bench/recipes.py --data /path/to/UTKFace --size 48 --epochs 6 --seeds "0 1 2" --out nbs/results/recipes_utkface_cpu
Where sharing pays with less data (nbs/results/recipes_utkface_cpu_frac25):
  python bench/recipes.py --data /path/to/UTKFace --size 48 --epochs 6 --seeds "0 1 2" --train_frac 0.25 --recipes "equal std std+age_w2 ldl" --out ...
GPU budget:
  python bench/recipes.py --data /path/to/UTKFace --arch resnet18 --size 64 --epochs 10 --seeds "0 1 2" --scratch --out nbs/results/recipes_utkface_gpu
"""
from __future__ import annotations

import sys, time
from pathlib import Path
import pandas as pd, torch
from mtl_course.utkface import utkface_tasks
from mtl_course.data import add_split
from mtl_course.recipes import RECIPES, recipe_runs, summarise_recipes, choose_recipe, format_recipes
from mtl_course.stats import plot_summary
sys.path.insert(0, str(Path(__file__).parent))
from common import md_table, machine, faces, dl_kwargs  # bench/common.py
from mtl_course.script import call_parse  # after the star imports: the same flags under fastcore 1 and 2


@call_parse
def main(data:str=None, # folder or archive of UTKFace images (default: synthetic faces)
         out:str='mtl_out/recipes', # output folder
         recipes:str=' '.join(RECIPES), # space-separated recipe names (`RECIPES`)
         seeds:str='0 1 2', # space-separated seeds; every model is trained once per seed
         tasks:str='age gender race', # tasks (space separated)
         arch:str='tiny_cnn', # backbone
         epochs:int=8, # epochs per model (times a recipe's compute factor)
         size:int=64, # image size
         bs:int=64, # batch size
         lr:float=1e-2, # learning rate (fit_one_cycle)
         scratch:bool=False, # no pretrained weights (pretrained archs only)
         n_synthetic:int=2000, # number of synthetic faces when no --data is given
         train_frac:float=1., # keep this fraction of the training images (the same ones for every seed); valid and test stay whole
         resume:bool=False, # keep the runs already in runs.csv and train only the models it lacks (a new recipe, seed or an interrupted run)
         threads:int=0, # torch CPU threads (0: torch's default)
         workers:int=-1, # DataLoader workers (-1: fastai's default)
         summarise_only:bool=False, # train nothing: rebuild the summary and plot from the runs.csv in `out`
         note:str='', # a sentence added to the budget line (e.g. where the images came from, what else ran on the machine)
        ):
    "Train every recipe and its single-task baselines over several seeds; write runs, summary (test, mean ± 95 % CI, Δm) and the recipe chosen on valid"
    t0 = time.time()
    if threads: torch.set_num_threads(threads)
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    csv, seeds, names = out/'runs.csv', [int(s) for s in seeds.split()], recipes.split()
    source = f"UTKFace images in {data}" if data else f'{n_synthetic} synthetic faces'
    if not summarise_only:
        path, df, source = faces(data, n_synthetic, size)
        if train_frac < 1:
            df = add_split(df)
            df = pd.concat([df[df.split == 'train'].sample(frac=train_frac, random_state=0), df[df.split != 'train']])
            source += f', {train_frac:.0%} of the training images'
        if csv.exists() and not resume: csv.unlink()
        done = pd.read_csv(csv) if csv.exists() else None  # every row is a finished model: train only the missing ones
        recipe_runs(df, path, utkface_tasks(tasks), names, seeds=seeds, epochs=epochs, csv=csv, done=done, arch=arch, size=size, bs=bs,
                    lr=lr, pretrained=False if scratch else None, **dl_kwargs(workers))
        source += f' ({len(df)} images)'
    runs = pd.read_csv(csv)
    summary = summarise_recipes(runs)
    summary.to_csv(out/'summary.csv', index=False)
    chosen = choose_recipe(summary, [n for n in names if RECIPES[n].compute == 1])
    budget = (f"{source}; {arch}, size {size}, bs {bs}, {epochs} epochs of fit_one_cycle at lr {lr} (× compute), "
              f"seeds {sorted(runs.seed.unique().tolist())}; scored on the fixed test split, Δm vs each recipe's own single-task baselines; "
              + ("machine: as when runs.csv was written (see wall_s)" if summarise_only else f"{machine()}; total {time.time()-t0:.0f} s"))
    if note: budget += f"; {note}"
    table = format_recipes(summary)
    (out/'summary.md').write_text(f"{budget}\n\nChosen on valid (best valid Δm at equal epochs): **{chosen}**\n\n{md_table(table)}\n")
    plot_summary(summary.rename(columns={'recipe': 'strategy'}).drop(columns=['valid_delta_m', 'valid_delta_m_ci95'], errors='ignore'),
                 title=f"{arch}, {epochs} epochs, {runs.seed.nunique()} seeds, test split").savefig(out/'recipes.png', dpi=100)
    print(f"\n{budget}\n{table.to_string(index=False)}\nchosen on valid: {chosen}\nwrote {csv}, summary.csv, summary.md, recipes.png in {out}")
