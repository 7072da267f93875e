"Task affinity (chapter 5): subsets, gain matrix and groupings on hand-made results tables, TAG's lookahead on a hand-made model."
import numpy as np, pandas as pd, pytest, torch
from torch import nn
from mtl_course.tasks import Task
from mtl_course.data import utkface_df, utkface_tasks
from mtl_course.losses import MultiTaskLoss
from mtl_course.model import MultiTaskModel
from mtl_course.weighting import ci95
from mtl_course.affinity import *

def toy_runs(seed=0, age_with_gender=9.):
    "Alone: age MAE 10, gender 0.8, race 0.6; age gains 10 % from gender (at 9.), loses 10 % with race; race gains 10 % from gender"
    n = np.nan
    return pd.DataFrame([
        dict(seed=seed, tasks='age', age_mae=10., gender_accuracy=n, race_accuracy=n),
        dict(seed=seed, tasks='gender', age_mae=n, gender_accuracy=0.8, race_accuracy=n),
        dict(seed=seed, tasks='race', age_mae=n, gender_accuracy=n, race_accuracy=0.6),
        dict(seed=seed, tasks='age gender', age_mae=age_with_gender, gender_accuracy=0.82, race_accuracy=n),
        dict(seed=seed, tasks='age race', age_mae=11., gender_accuracy=n, race_accuracy=0.6),
        dict(seed=seed, tasks='gender race', age_mae=n, gender_accuracy=0.8, race_accuracy=0.66),
        dict(seed=seed, tasks='age gender race', age_mae=9.5, gender_accuracy=0.84, race_accuracy=0.63)])

def test_task_subsets():
    assert task_subsets(['a', 'b', 'c']) == [['a'], ['b'], ['c'], ['a', 'b'], ['a', 'c'], ['b', 'c'], ['a', 'b', 'c']]
    assert len(task_subsets(list('abcd'))) == 15
    assert task_subsets(list('abc'), sizes=[2]) == [['a', 'b'], ['a', 'c'], ['b', 'c']]

def test_gain_matrix_signs_and_asymmetry():
    m = gain_matrix(toy_runs())
    assert m.index.tolist() == ['age', 'gender', 'race'] and m.columns.tolist() == ['age', 'gender', 'race', 'all']
    assert m.loc['age', 'gender'] == pytest.approx(10.)    # lower MAE: positive gain
    assert m.loc['age', 'race'] == pytest.approx(-10.)     # negative transfer
    assert m.loc['gender', 'age'] == pytest.approx(2.5)    # higher accuracy: positive gain; not symmetric
    assert m.loc['race', 'gender'] == pytest.approx(10.) and m.loc['race', 'age'] == pytest.approx(0.)
    assert np.allclose(m['all'], 5.)
    assert np.isnan(np.diag(m.values[:, :3])).all()

def test_gain_table_per_seed_and_ci():
    runs = pd.concat([toy_runs(0), toy_runs(1, age_with_gender=8.)])
    gt = gain_table(runs)
    r = gt[(gt.task == 'age') & (gt.trained_with == 'gender')].iloc[0]
    assert r.gain == pytest.approx(15.) and r.ci95 == pytest.approx(ci95([10., 20.])) and r.n == 2
    assert len(gain_table(runs, per_seed=True)) == 18
    assert gain_matrix(runs, 'ci95').loc['age', 'race'] == pytest.approx(0.)

def test_gain_uses_same_seed_single():
    r0, r1 = toy_runs(0), toy_runs(1)
    r1.loc[r1.tasks == 'age', 'age_mae'] = 9.  # seed 1's single-task age model is better: pair at 9. is +0 % for seed 1
    gt = gain_table(pd.concat([r0, r1]), per_seed=True)
    g = gt[(gt.task == 'age') & (gt.trained_with == 'gender')].set_index('seed').gain
    assert g[0] == pytest.approx(10.) and g[1] == pytest.approx(0.)

def test_missing_single_fails():
    runs = toy_runs()
    with pytest.raises(ValueError, match="no single-task run of 'race'"): gain_table(runs[runs.tasks != 'race'])

def test_groupings():
    gr = groupings(toy_runs()).set_index('grouping')
    assert len(gr) == 5
    assert gr.delta_m['{age, gender, race}'] == pytest.approx(5.)
    assert gr.delta_m['{age, gender} {race}'] == pytest.approx(12.5 / 3)
    assert gr.delta_m['{age, race} {gender}'] == pytest.approx(-10 / 3)
    assert gr.delta_m['{age} {gender, race}'] == pytest.approx(10 / 3)
    assert gr.delta_m['{age} {gender} {race}'] == 0.
    assert gr.n_networks.tolist() == sorted(gr.n_networks.tolist())  # sorted by networks, then Δm
    runs = toy_runs()
    assert len(groupings(runs[runs.tasks != 'age gender'])) == 4  # partitions with an untrained group are skipped

def test_plot_gain_matrix():
    runs = pd.concat([toy_runs(0), toy_runs(1, age_with_gender=8.)])
    ax = plot_gain_matrix(gain_matrix(runs), gain_matrix(runs, 'ci95'), title='toy')
    assert len(ax.texts) == 12 and ax.get_title() == 'toy'

def test_lookahead_affinity_signs():
    torch.manual_seed(0)
    reg = lambda n: Task(n, 'regression', loss='mse')
    model = MultiTaskModel(nn.Linear(2, 1, bias=False), {'a': nn.Identity(), 'b': nn.Identity(), 'c': nn.Identity()})
    nn.init.zeros_(model[0].weight)
    x = torch.randn(16, 2); y = x @ torch.tensor([1., -2.])
    Z = lookahead_affinity(model, x, (y, y, -y), MultiTaskLoss([reg('a'), reg('b'), reg('c')]), ['0.weight'], lr=0.05)
    assert Z.shape == (3, 3)
    assert torch.allclose(Z[0], Z[1]) and Z[0, 0] > 0 and Z[0, 1] > 0  # identical tasks help each other
    assert Z[0, 2] < 0 and Z[2, 0] < 0                                  # opposite targets: negative transfer
    assert torch.equal(model[0].weight, torch.zeros(1, 2))             # the model was not modified

def test_affinity_runs_tiny(faces):
    df = utkface_df(faces)
    runs = affinity_runs(df, faces, utkface_tasks('age gender'), seeds=[0], epochs=1, size=32, bs=32, num_workers=0, tag_every=3)
    assert runs.tasks.tolist() == ['age', 'gender', 'age gender']
    assert runs.columns.tolist() == ['seed', 'tasks', 'n_tasks', 'age_mae', 'gender_accuracy', 'wall_s']
    assert runs.attrs['tag'].shape == (4, 4)
    m = gain_matrix(runs)
    assert m.shape == (2, 2) and np.isfinite(m.loc['age', 'gender']) and np.isfinite(m.loc['gender', 'age'])
