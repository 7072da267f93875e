"""The numbers the teaching chapters quote in their prose, checked against the measurements in `nbs/results/`.

Each claim is (notebook, a phrase of its markdown with `{}` where a number is quoted, a function computing those numbers
from the CSVs, and the decimals). The phrase locates the quote: its literal text must occur in the notebook's markdown
(any run of spaces may be a line break), and a claim whose phrase is missing fails — so a prose edit that drops or
rewords a quoted number is noticed and its claim updated. Each `{}` is compared with the value computed from the CSV,
rounded to the decimals the prose writes (or to the claim's `decimals`). A few placeholders are bounds ("less than …",
"… or more", "about …"), and `{w}` is a count in words ("two of three", "every seed").

The values are computed the way the chapters compute their tables: the library's summaries (`summarise_runs`,
`summarise_recipes`, `gain_table`/`gain_matrix`/`groupings`, `choose_recipe`, `choose_branch`) applied to each folder's
`runs.csv`; files without a `runs.csv` behind them (`comparison.csv`, `compute.csv`, `trivial.csv`, `tag.csv`,
`tag_runs.csv`, `layers.csv`, the `total … s` of a `summary.md`) are read as they are. The last tests check that the
committed `summary.csv`, `gain.csv` and `groupings.csv` agree with the library's summaries of `runs.csv`.

Not checked: numbers of a notebook's live outputs (they change with each run), chapters 1 and 6 (their prose quotes no
results file: chapter 1's learnability table is from synthetic faces), chapters 7 and 8.
"""
from __future__ import annotations
import json, re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable
import numpy as np, pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS, RES = ROOT/'nbs', ROOT/'nbs'/'results'

# ---------------------------------------------------------------- the prose

@cache
def markdown(nb:str) -> str:
    "The markdown cells of `nbs/<nb>`, joined"
    cells = json.loads((NBS/nb).read_text(encoding='utf-8'))['cells']
    src = lambda c: c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
    return '\n\n'.join(src(c) for c in cells if c['cell_type'] == 'markdown')

NUM = r'([−+-]?\d[\d,]*(?:\.\d+)?)'  # −7.2, +0.0, 97,920, 0.534 (U+2212 or ASCII minus)
WORDS = {'no': 0, 'none': 0, 'one': 1, 'two': 2, 'three': 3, 'every': None, 'all': None}
WORD = r'(' + '|'.join(WORDS) + r')'

def phrase_re(phrase:str) -> re.Pattern:
    "`phrase` as a regex: literal text, `{}` a number, `{w}` a count in words, any space may be any whitespace"
    parts = re.split(r'(\{\}|\{w\})', phrase)
    lit = lambda s: re.sub(r'(\\ )+', r'\\s+', re.escape(s))
    return re.compile(''.join(NUM if p == '{}' else WORD if p == '{w}' else lit(p) for p in parts))

def parse_num(s:str) -> tuple[float, int]:
    "A quoted number and its decimals: '−3.8' -> (-3.8, 1), '97,920' -> (97920., 0)"
    s = s.replace('−', '-').replace(',', '').replace('+', '')
    return float(s), len(s.split('.')[1]) if '.' in s else 0

# ---------------------------------------------------------------- what a placeholder expects

@dataclass
class UpperBound:  # the prose gives a bound the value must not exceed: "less than q", "within ± q", "…–q"
    x: float
@dataclass
class LowerBound:  # the prose gives a bound the value must not fall below: "q % or more", "q–…"
    x: float
@dataclass
class About:  # "about q": within `tol` of the value
    x: float
    tol: float
@dataclass
class Count:  # a count in words: k of the n seeds (or entries); 'every' means k == n
    k: int
    n: int

def check_one(expected, quoted:str, decimals:int|None) -> str|None:
    "None if the quoted text agrees with `expected`, else what the CSV says"
    if isinstance(expected, Count):
        w = WORDS[quoted.lower()]
        ok = expected.k == (expected.n if w is None else w)
        return None if ok else f'{expected.k} of {expected.n}'
    q, d = parse_num(quoted)
    d = d if decimals is None else decimals
    if isinstance(expected, UpperBound): return None if expected.x <= q else f'{expected.x:.6g} (above the bound)'
    if isinstance(expected, LowerBound): return None if expected.x >= q else f'{expected.x:.6g} (below the bound)'
    if isinstance(expected, About): return None if abs(expected.x - q) <= expected.tol else f'{expected.x:.6g} (± {expected.tol})'
    x = float(expected)
    want = f'{x:.{d}f}'
    return None if float(want) == q else f'{x:.6g}, which rounds to {want}'

@dataclass
class Claim:
    id: str
    nb: str  # notebook in nbs/
    phrase: str  # markdown text around the quote: `{}` = a number, `{w}` = a count in words
    values: Callable[[], tuple]  # one expected value per placeholder, from the CSVs
    source: str  # the results file(s), for the messages
    decimals: int|None = None  # None: compare at the decimals the prose writes

# ---------------------------------------------------------------- the measurements

def _csv(folder, name, **kw): return pd.read_csv(RES/folder/name, **kw)

@cache
def main_cmp(): return _csv('main_utkface_cpu', 'comparison.csv').set_index('task')
@cache
def main_compute(): return _csv('main_utkface_cpu', 'compute.csv').set_index('model')
@cache
def main_trivial(): return _csv('main_utkface_cpu', 'trivial.csv')

@cache
def w_runs(): return _csv('weighting_utkface_cpu', 'runs.csv')
@cache
def w_sum():
    from mtl_course.stats import summarise_runs
    return summarise_runs(w_runs()).set_index('strategy')
@cache
def w_valid():
    "chapter 4's summary on the validation metrics of the same runs"
    from mtl_course.stats import summarise_runs
    r = w_runs().drop(columns=['age_mae', 'gender_accuracy', 'race_accuracy']).rename(columns=lambda c: c.removeprefix('valid_'))
    return summarise_runs(r).set_index('strategy')
@cache
def w_seed():
    "metric × strategy, one row per seed"
    return w_runs().pivot_table(index='seed', columns='strategy', values=['age_mae', 'gender_accuracy', 'race_accuracy'])

@cache
def r_runs(folder='recipes_utkface_cpu'): return _csv(folder, 'runs.csv')
@cache
def r_sum(folder='recipes_utkface_cpu'):
    from mtl_course.recipes import summarise_recipes
    return summarise_recipes(r_runs(folder)).set_index('recipe')

@cache
def a_runs(): return _csv('affinity_utkface_cpu', 'runs.csv')
@cache
def a_gain(value='gain'):
    from mtl_course.affinity import gain_matrix
    return gain_matrix(a_runs(), value)
@cache
def a_groups():
    from mtl_course.affinity import groupings
    return groupings(a_runs()).set_index('grouping')
@cache
def a_tag(): return _csv('affinity_utkface_cpu', 'tag.csv', index_col=0)
@cache
def a_tag_runs(): return _csv('affinity_utkface_cpu', 'tag_runs.csv')
@cache
def a_layers(): return _csv('affinity_utkface_cpu', 'layers.csv', index_col=0)

def md_total_s(folder) -> float:
    "the `total N s` a bench script wrote into its summary.md"
    return float(re.search(r'total (\d+(?:\.\d+)?) s', (RES/folder/'summary.md').read_text()).group(1))

def rel(single, multi, higher_better=True):
    "relative change in %, + = better"
    d = (multi - single) / abs(single) * 100
    return d if higher_better else -d

# ---------------------------------------------------------------- values of the claims

def ch2_trivial(task):
    t = main_trivial()
    row = t[(t.task == task) & ~t.predictor.str.startswith('mean')].iloc[0]  # age: the median, the better one
    single = main_cmp().loc[task, 'single_task']
    if task == 'age': return (float(re.search(r'\(([\d.]+)\)', row.predictor).group(1)), row.value, single)
    return (row.value, single)

def ch3_row(task):
    c = main_cmp().loc[task]
    return (c.single_task, c.equal, c.change_equal_pct, c['std+age_w2'], c['change_std+age_w2_pct'])

def ch3_compute():
    c = main_compute()
    multi = c.loc[c.index.str.startswith('multi-task')]
    return (c.loc['single-task ×3', 'images_seen'], c.loc['single-task ×3', 'wall_s'],
            multi.images_seen.iloc[0], About(multi.wall_s.mean(), 1.))

def equal_cost_range():
    "per seed, % of gender's and race's accuracy that equal weights cost (min–max over seeds)"
    p, out = w_seed(), []
    for m in ('gender_accuracy', 'race_accuracy'):
        cost = -rel(p[m]['single'], p[m]['equal'])
        out += [cost.min(), cost.max()]
    return tuple(out)

def equal_age_better():
    p = w_seed()['age_mae']
    return (Count(int((p['equal'] < p['single']).sum()), len(p)), w_sum().loc['equal', 'age_mae'], w_sum().loc['single', 'age_mae'])

def w_row(strategy, with_dm=True):
    s = w_sum().loc[strategy]
    out = (s.age_mae, s.age_mae_ci95, s.gender_accuracy, s.gender_accuracy_ci95, s.race_accuracy, s.race_accuracy_ci95)
    return out + ((s.delta_m, s.delta_m_ci95) if with_dm else ())

def w_equal_vs_single():
    s = w_sum()
    e, b = s.loc['equal'], s.loc['single']
    return (e.age_mae, b.age_mae, e.gender_accuracy, b.gender_accuracy, e.race_accuracy, b.race_accuracy,
            rel(b.gender_accuracy, e.gender_accuracy), rel(b.race_accuracy, e.race_accuracy))

def w_grid_size():
    return (len(w_runs()), md_total_s('weighting_utkface_cpu') / 60, md_total_s('weighting_utkface_cpu') / len(w_runs()))

def w_famo_race_below_scaled():
    p = w_seed()['race_accuracy']
    return (w_sum().loc['famo', 'race_accuracy'], Count(int((p['famo'] < p['scaled']).sum()), len(p)))

def w_gradnorm():
    s, p = w_sum().loc['gradnorm'], w_seed()['age_mae']
    return (s.gender_accuracy, s.race_accuracy, s.age_mae, Count(int((p['gradnorm'] > p['single']).sum()), len(p)),
            s.delta_m, s.delta_m_ci95)

def w_valid_choice():
    v = w_valid()
    others = v.drop(index=['single', 'famo', 'scaled'])
    return (v.loc['famo', 'delta_m'], v.loc['famo', 'delta_m_ci95'], v.loc['scaled', 'delta_m'], v.loc['scaled', 'delta_m_ci95'],
            LowerBound(-others.delta_m.max()))

def r_single(folder='recipes_utkface_cpu'):
    s = r_sum(folder)
    return (s.loc['single', 'age_mae'], s.loc['single+std', 'age_mae'], s.loc['single+std+ldl61', 'age_mae'],
            s.loc['single', 'gender_accuracy'], s.loc['single', 'race_accuracy'])

def r_vs_w_single():
    r, w = r_sum().loc['single'], w_sum().loc['single']
    return (r.age_mae, w.age_mae, r.gender_accuracy, w.gender_accuracy, r.race_accuracy, w.race_accuracy)

def r_row(recipe):
    s = r_sum().loc[recipe]
    return (s.age_mae, s.gender_accuracy, s.race_accuracy, s.delta_m, s.delta_m_ci95, s.valid_delta_m, s.images_seen)

def r_sweep():
    s = r_sum()
    sweep = s.loc[['std+age_w0.25', 'std+age_w0.5', 'std', 'std+age_w2', 'std+age_w4']]  # w = 0.25, 0.5, 1, 2, 4
    upto1 = sweep.loc[['std+age_w0.25', 'std+age_w0.5', 'std']]
    return (sweep.age_mae.iloc[0], sweep.age_mae.iloc[-1], sweep.gender_accuracy.min(), sweep.gender_accuracy.max(),
            upto1.race_accuracy.min(), upto1.race_accuracy.max(), s.loc['std+age_w2', 'race_accuracy'], s.loc['std+age_w4', 'race_accuracy'])

def r_own_single(recipe):
    "the per-seed metrics of `recipe` and of its own single-task baselines"
    from mtl_course.recipes import _baseline_rows
    runs = r_runs()
    mine = runs[runs.recipe == recipe].set_index('seed')
    base = _baseline_rows(runs, mine.baseline.iloc[0]).groupby('seed')[['age_mae', 'gender_accuracy', 'race_accuracy']].mean()
    return mine, base

def r_equal_compute():
    s = r_sum().loc['std@3x']
    mine, base = r_own_single('std@3x')
    better = ((mine.age_mae < base.age_mae) & (mine.gender_accuracy > base.gender_accuracy) & (mine.race_accuracy > base.race_accuracy))
    return (s.images_seen, s.age_mae, s.gender_accuracy, s.race_accuracy, s.delta_m, s.delta_m_ci95, Count(int(better.sum()), len(better)))

def r_recommended():
    s = r_sum()
    w2, base, std = s.loc['std+age_w2'], s.loc['single'], s.loc['single+std']
    return (w2.delta_m, w2.delta_m_ci95, w2.age_mae, std.age_mae, w2.gender_accuracy, base.gender_accuracy,
            w2.race_accuracy, base.race_accuracy)

def r_w2_below_every_seed():
    from mtl_course.tasks import delta_m
    mine, base = r_own_single('std+age_w2')
    ms = ['age_mae', 'gender_accuracy', 'race_accuracy']
    per_seed = [delta_m(mine.loc[sd, ms].to_dict(), base.loc[sd, ms].to_dict(), ms) for sd in mine.index]
    return (Count(sum(d < 0 for d in per_seed), len(per_seed)),)

def r_frac25_dm():
    s = r_sum('recipes_utkface_cpu_frac25')
    return tuple(v for r in ('std+age_w2', 'ldl', 'equal') for v in (s.loc[r, 'delta_m'], s.loc[r, 'delta_m_ci95']))

def a_gain_row(task):
    g, ci = a_gain().loc[task], a_gain('ci95').loc[task]
    return tuple(v for p in ('age', 'gender', 'race', 'all') if p != task for v in (g[p], ci[p]))

def a_groupings():
    g = a_groups()
    return tuple(v for k in ('{age, gender, race}', '{age, race} {gender}', '{age} {gender, race}', '{age, gender} {race}')
                 for v in (g.loc[k, 'delta_m'], g.loc[k, 'delta_m_ci95']))

def a_tag_sentence():
    z = a_tag()
    own = [z.loc[t, t] for t in ('gender', 'race')]
    cross = [abs(z.loc[i, j]) for i in ('gender', 'race') for j in z.columns if j != i]
    return (z.loc['age', 'age'], -z.loc['age', 'gender'], -z.loc['age', 'race'], UpperBound(max(cross)), min(own), max(own))

def a_tag_seeds():
    t = a_tag_runs()
    raised = lambda j: t[(t['step on'] == 'age') & (t['loss of'] == j)].z.lt(0)
    return tuple(Count(int(raised(j).sum()), len(raised(j))) for j in ('gender', 'race'))

def a_no_transfer():
    g, ci = a_gain(), a_gain('ci95')
    mask = g.notna().values
    return (UpperBound(np.abs(g.values[mask]).max()), Count(int((ci.values[mask] >= np.abs(g.values[mask])).sum()), int(mask.sum())))

def a_age_ci_range():
    ci = a_gain('ci95').loc['age'].dropna()
    return (ci.min(), ci.max())

def a_layers_sentence():
    l = a_layers()
    return (l['mean'].iloc[0], l['mean'].iloc[-1], l['age~gender'].iloc[0], l['age~gender'].iloc[-1])

def a_branch():
    from mtl_course.affinity import choose_branch
    from mtl_course.model import create_mtl_body
    l = a_layers()
    return (choose_branch(l.drop(columns='mean'), len(create_mtl_body('tiny_cnn', pretrained=False)[0])),)

def a_grid_size():
    return (int((a_runs().n_tasks > 1).sum()), md_total_s('affinity_utkface_cpu') / 60)

def w_equal_avg():
    s = w_sum()
    return tuple(rel(s.loc['single', m], s.loc['equal', m]) for m in ('gender_accuracy', 'race_accuracy'))

# ---------------------------------------------------------------- the claims

MAIN, W, R, R25, A = ('main_utkface_cpu', 'weighting_utkface_cpu', 'recipes_utkface_cpu', 'recipes_utkface_cpu_frac25',
                      'affinity_utkface_cpu')
CH2, CH3, CH4, CH5 = '02_baselines.ipynb', '03_multitask.ipynb', '04_weighting.ipynb', '05_task_affinity.ipynb'

CLAIMS = [
    # chapter 2: trivial predictors and single-task models on real faces
    Claim('ch2-trivial-age', CH2, '| median of the training ages ({}) | {} | **{}** |', lambda: ch2_trivial('age'), f'{MAIN}/trivial.csv, comparison.csv'),
    Claim('ch2-trivial-gender', CH2, '| majority class (female) | {} | **{}** |', lambda: ch2_trivial('gender'), f'{MAIN}/trivial.csv, comparison.csv'),
    Claim('ch2-trivial-race', CH2, '| majority class (White) | {} | **{}** |', lambda: ch2_trivial('race'), f'{MAIN}/trivial.csv, comparison.csv'),
    Claim('ch2-single-task-time', CH2, 'the single-task models took {} s together', lambda: (main_compute().loc['single-task ×3', 'wall_s'],), f'{MAIN}/compute.csv'),
    # chapter 3: the main comparison
    Claim('ch3-table-age', CH3, '| age | MAE (years) | {} | {} ({} %) | {} ({} %) |', lambda: ch3_row('age'), f'{MAIN}/comparison.csv'),
    Claim('ch3-table-gender', CH3, '| gender | accuracy | {} | {} ({} %) | {} ({} %) |', lambda: ch3_row('gender'), f'{MAIN}/comparison.csv'),
    Claim('ch3-table-race', CH3, '| race | accuracy | {} | {} ({} %) | {} ({} %) |', lambda: ch3_row('race'), f'{MAIN}/comparison.csv'),
    Claim('ch3-compute', CH3, 'the three single-task networks saw {} images in {} s, each multi-task network {} images in about {} s',
          ch3_compute, f'{MAIN}/compute.csv'),
    Claim('ch3-total-time', CH3, '{} s of training for the five models', lambda: (main_compute().wall_s.sum(),), f'{MAIN}/compute.csv'),
    Claim('ch3-equal-cost-per-seed', CH3, 'equal weights cost gender {}–{} % and race {}–{} % of their accuracy', equal_cost_range, f'{W}/runs.csv'),
    Claim('ch3-equal-age-better', CH3, 'age is slightly *better* with equal weights in {w} seed ({} against {} years on average)', equal_age_better, f'{W}/runs.csv'),
    # chapter 4: the strategy grid
    Claim('ch4-grid-size', CH4, '{} models in {} minutes on **2 CPU cores** ({} s per model on average)', w_grid_size, f'{W}/runs.csv, summary.md'),
    Claim('ch4-weighting-single', CH4, '| single-task (3 networks) | {} ± {} | {} ± {} | {} ± {} |', lambda: w_row('single', False), f'{W}/runs.csv'),
    *[Claim(f'ch4-weighting-{s}', CH4, f'| `{s}` | {{}} ± {{}} | {{}} ± {{}} | {{}} ± {{}} | {{}} ± {{}} |', lambda s=s: w_row(s), f'{W}/runs.csv')
      for s in ('equal', 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'alternating', 'famo')],
    Claim('ch4-weighting-scaled', CH4, '| **`scaled`** | {} ± {} | {} ± {} | {} ± {} | **{} ± {}** |', lambda: w_row('scaled'), f'{W}/runs.csv'),
    Claim('ch4-equal-vs-single', CH4, 'age MAE {} against {} years, but gender {} against {} and race {} against {} ({} % and {} % relative)',
          w_equal_vs_single, f'{W}/runs.csv'),
    Claim('ch4-famo-race', CH4, 'Its race accuracy ({}) is below `scaled`\'s in {w} of the three seeds', w_famo_race_below_scaled, f'{W}/runs.csv'),
    Claim('ch4-like-equal', CH4, 'on this short budget ($\\Delta_m$ {}, {}, {} %)',
          lambda: tuple(w_sum().loc[s, 'delta_m'] for s in ('uncertainty', 'dwa', 'pcgrad')), f'{W}/runs.csv'),
    Claim('ch4-gradnorm', CH4, 'gender and race get close to single-task ({}, {}), age gets worse ({} years, in {w} seed) — $\\Delta_m$ {} ± {} %',
          w_gradnorm, f'{W}/runs.csv'),
    Claim('ch4-valid-choice', CH4, 'FAMO ($\\Delta_m$ {} ± {} % on valid) and **`scaled`** — fixed weights $(1/\\sigma_{age}, 1, 1)$, '
          "`weighting_cbs('scaled', df, tasks)` — ({} ± {} %); every other strategy is {} % or more below single-task",
          w_valid_choice, f'{W}/runs.csv (valid_ columns)'),
    # chapter 4: the recipe grid
    Claim('ch4-recipes-single', CH4, 'The three single-task networks score age MAE {} years ({} with a standardised head, {} with a distribution head), gender {} and race {}.',
          r_single, f'{R}/runs.csv'),
    Claim('ch4-recipes-vs-weighting-single', CH4, '(age {} against {} years, gender {} against {}, race {} against {}, each within the intervals)',
          r_vs_w_single, f'{R}/runs.csv, {W}/runs.csv'),
    *[Claim(f'ch4-recipe-{r}', CH4, f'| `{r}` | {{}} | {{}} | {{}} | {{}} ± {{}} | {{}} | {{}} |', lambda r=r: r_row(r), f'{R}/runs.csv')
      for r in ('equal', 'scaled', 'std', 'std+age_w0.25', 'std+age_w0.5', 'std+age_w4', 'std+famo', 'std+branch', 'ldl')],
    Claim('ch4-recipe-std+age_w2', CH4, '| **`std+age_w2`** | {} | {} | {} | **{} ± {}** | **{}** | {} |', lambda: r_row('std+age_w2'), f'{R}/runs.csv'),
    Claim('ch4-recipe-std@3x', CH4, '| `std@3x` (equal compute) | {} | {} | {} | **{} ± {}** | {} | {} |', lambda: r_row('std@3x'), f'{R}/runs.csv'),
    Claim('ch4-sweep', CH4, "moves age's MAE from {} to {} years; gender stays at {}–{} throughout, and race holds at {}–{} up to $w = 1$, "
          'then gives way: {} at $w = 2$, {} at $w = 4$', r_sweep, f'{R}/runs.csv'),
    Claim('ch4-equal-compute', CH4, 'see together, {} — the standardised model reaches {} years, {} and {}: $\\Delta_m$ {} ± {} %, '
          'an interval well above zero, better on all three tasks in {w} seed', r_equal_compute, f'{R}/runs.csv'),
    Claim('ch4-frac25-single', CH4, 'the single-task networks score age {} ({} standardised, {} distribution head), gender {} and race {}',
          lambda: r_single('recipes_utkface_cpu_frac25'), f'{R25}/runs.csv'),
    Claim('ch4-frac25-dm', CH4, '`std+age_w2` $\\Delta_m$ {} ± {} %, `ldl` {} ± {} %, `equal` {} ± {} %', r_frac25_dm, f'{R25}/runs.csv'),
    Claim('ch4-recommended', CH4, '($\\Delta_m$ {} ± {} %: age {} vs {} years, gender {} vs {}, race {} vs {})', r_recommended, f'{R}/runs.csv'),
    Claim('ch4-recommended-every-seed', CH4, 'slightly below them in {w} seed', r_w2_below_every_seed, f'{R}/runs.csv'),
    Claim('ch4-where-mtl-pays', CH4, "at equal compute ({} ± {} %), and as a carrier for a better age head (the `ldl` model's {} years against {} for the plain single-task network)",
          lambda: (r_sum().loc['std@3x', 'delta_m'], r_sum().loc['std@3x', 'delta_m_ci95'], r_sum().loc['ldl', 'age_mae'], r_sum().loc['single', 'age_mae']),
          f'{R}/runs.csv'),
    # chapter 5: task affinity
    Claim('ch5-grid-size', CH5, '{} multi-task models in {} minutes', a_grid_size, f'{A}/runs.csv, summary.md'),
    Claim('ch5-equal-cost-per-seed', CH5, 'equal weights cost gender {}–{} % and race {}–{} % of their accuracy', equal_cost_range, f'{W}/runs.csv'),
    Claim('ch5-gain-age', CH5, '| age (MAE) | — | {} ± {} | {} ± {} | {} ± {} |', lambda: a_gain_row('age'), f'{A}/runs.csv'),
    Claim('ch5-gain-gender', CH5, '| gender (accuracy) | {} ± {} | — | {} ± {} | {} ± {} |', lambda: a_gain_row('gender'), f'{A}/runs.csv'),
    Claim('ch5-gain-race', CH5, '| race (accuracy) | {} ± {} | {} ± {} | — | {} ± {} |', lambda: a_gain_row('race'), f'{A}/runs.csv'),
    Claim('ch5-groupings', CH5, 'one network for all three tasks {} ± {}; {age, race} + {gender} {} ± {}; {age} + {gender, race} {} ± {}; '
          '{age, gender} + {race} {} ± {}', a_groupings, f'{A}/runs.csv'),
    Claim('ch5-tag', CH5, "a step on age's loss lowers age's own loss by {} (relative) and *raises* gender's by {} and race's by {}; "
          "a step on gender or race changes the other tasks' losses by less than {}, against {}–{} for their own", a_tag_sentence, f'{A}/tag.csv'),
    Claim('ch5-no-negative-transfer', CH5, 'Every entry of the gain matrix is within ± {} % of zero, and {w} interval contains zero', a_no_transfer, f'{A}/runs.csv'),
    Claim('ch5-equal-on-average', CH5, '(gender {} %, race {} % on average)', w_equal_avg, f'{W}/runs.csv'),
    Claim('ch5-best-grouping', CH5, 'The best grouping, {age, race} + {gender} ({} ± {} %), is within noise of three networks, and so is one network for all ({} ± {} %)',
          lambda: tuple(a_groups().loc[k, c] for k in ('{age, race} {gender}', '{age, gender, race}') for c in ('delta_m', 'delta_m_ci95')),
          f'{A}/runs.csv'),
    Claim('ch5-age-noisiest', CH5, 'Its gains have intervals of ± {}–{} %', a_age_ci_range, f'{A}/runs.csv'),
    Claim('ch5-tag-seeds', CH5, "a step for age raises gender's loss in {w} seed, and race's in {w} of three", a_tag_seeds, f'{A}/tag_runs.csv'),
    Claim('ch5-layers', CH5, 'the mean cosine over the three pairs falls from {} on the first layer to {} on the last — but it is positive on every layer '
          '(one pair, age and gender, is slightly negative on the first and the last layer, {} and {})', a_layers_sentence, f'{A}/layers.csv'),
    Claim('ch5-branch', CH5, '`choose_branch` returns {}, share the whole body', a_branch, f'{A}/layers.csv'),
    Claim('ch5-std-branch', CH5, '{} ± {} % against {} ± {} % for the same recipe without the branch',
          lambda: tuple(r_sum().loc[r, c] for r in ('std+branch', 'std') for c in ('delta_m', 'delta_m_ci95')), f'{R}/runs.csv'),
]

@pytest.mark.parametrize('claim', CLAIMS, ids=[c.id for c in CLAIMS])
def test_quoted_number(claim:Claim):
    text, pat = markdown(claim.nb), phrase_re(claim.phrase)
    matches = list(pat.finditer(text))
    if not matches:
        pytest.fail(f"{claim.nb}: the phrase quoting numbers from {claim.source} is missing from the markdown "
                    f"(the prose changed? update the claim {claim.id!r} in {Path(__file__).name}):\n  {claim.phrase}")
    expected = claim.values()
    problems = []
    for m in matches:  # every occurrence of the phrase must agree
        quoted = m.groups()
        assert len(quoted) == len(expected), f'claim {claim.id}: {len(quoted)} placeholders, {len(expected)} values'
        for i, (q, e) in enumerate(zip(quoted, expected)):
            if (bad := check_one(e, q, claim.decimals)) is not None:
                problems.append(f'  number {i + 1}: the prose says {q!r}, {claim.source} gives {bad}')
    assert not problems, f'{claim.nb}: “{matches[0].group(0)}”\n' + '\n'.join(problems)

# ---------------------------------------------------------------- claims in words

def test_recommended_recipe_is_chosen_on_valid():
    "Chapter 4 recommends the recipe `choose_recipe` picks from the grid, the library's RECOMMENDED; chapter 3 trains it"
    from mtl_course.recipes import choose_recipe, RECOMMENDED
    chosen = choose_recipe(r_sum().reset_index())
    assert chosen == RECOMMENDED, f'{R}/runs.csv chooses {chosen!r} on valid, the library recommends {RECOMMENDED!r}'
    for nb, phrase in ((CH4, f'### The recommended recipe\n\n**`{chosen}`**'), (CH4, f'The best, `{chosen}` (chosen on valid)'),
                       (CH3, f"the course's recommended recipe, `{chosen}`")):
        assert phrase_re(phrase).search(markdown(nb)), f'{nb}: missing “{phrase}” (the recipe chosen on valid in {R}/runs.csv)'

def test_best_grouping():
    "Chapter 5 names the best two-network grouping and puts one network for all level with three"
    g = a_groups().reset_index()
    best = g[g.n_networks == 2].sort_values('delta_m', ascending=False).grouping.iloc[0]
    phrase = f"The best grouping, {best.replace('} {', '} + {')} ("
    assert phrase_re(phrase).search(markdown(CH5)), f'{CH5}: missing “{phrase}” (the best grouping of {A}/runs.csv)'

def test_affinity_reuses_weighting_runs():
    "Chapter 5: the all-task models reproduce chapter 4's `scaled` runs to the last digit, the single-task ones are chapter 4's"
    phrase = "the all-task models here reproduce chapter 4's `scaled` runs to the last digit"
    assert phrase_re(phrase).search(markdown(CH5)), f'{CH5}: missing “{phrase}”'
    cols = ['seed', 'tasks', 'age_mae', 'gender_accuracy', 'race_accuracy']
    a, w = a_runs(), w_runs()
    pairs = ((a[a.n_tasks == 3], w[w.strategy == 'scaled']), (a[a.n_tasks == 1], w[w.strategy == 'single']))
    for mine, theirs in pairs:
        key = lambda d: d[cols].sort_values(['seed', 'tasks']).reset_index(drop=True)
        pd.testing.assert_frame_equal(key(mine), key(theirs), check_exact=True)

# ---------------------------------------------------------------- the committed summaries agree with runs.csv

def _same(computed:pd.DataFrame, committed:pd.DataFrame, what:str):
    num = committed.select_dtypes('number').columns
    assert list(computed.columns) == list(committed.columns), what
    pd.testing.assert_frame_equal(computed[num].reset_index(drop=True), committed[num].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9, obj=what)
    other = [c for c in committed.columns if c not in num]
    assert computed[other].reset_index(drop=True).equals(committed[other].reset_index(drop=True)), what

def test_committed_summaries_match_runs():
    from mtl_course.affinity import gain_table
    _same(w_sum().reset_index(), _csv(W, 'summary.csv'), f'{W}/summary.csv vs summarise_runs(runs.csv)')
    for f in (R, R25): _same(r_sum(f).reset_index(), _csv(f, 'summary.csv'), f'{f}/summary.csv vs summarise_recipes(runs.csv)')
    _same(gain_table(a_runs()), _csv(A, 'gain.csv'), f'{A}/gain.csv vs gain_table(runs.csv)')
    _same(a_groups().reset_index(), _csv(A, 'groupings.csv'), f'{A}/groupings.csv vs groupings(runs.csv)')

def test_comparison_changes_match_metrics():
    "main_utkface_cpu has no runs.csv: its % changes must at least follow from its own metrics"
    c = main_cmp()
    for model in ('equal', 'std+age_w2'):
        for task, r in c.iterrows():
            want = rel(r.single_task, r[model], higher_better=r.metric != 'mae')
            assert abs(r[f'change_{model}_pct'] - want) < 1e-9, (task, model)
