"Loss-weighting strategies (chapter 4) on hand-made tensors, and briefly on a tiny learner."
import math, pickle
import numpy as np, pandas as pd, pytest, torch
from fastai.learner import Callback, CancelFitException, load_learner
from mtl_course.tasks import Task, relative_change, delta_m
from mtl_course.data import utkface_df, utkface_tasks, mtl_dls
from mtl_course.learner import fit_tasks, mtl_learner
from mtl_course.weighting import *

TASKS = utkface_tasks()

# --- pure functions -------------------------------------------------------------------------------------------

def test_uncertainty_gradient():
    L = torch.tensor([8., 0.5, 1.2])
    s = torch.tensor([0., 1., -0.5], requires_grad=True)
    uncertainty_loss(L, s).backward()
    assert torch.allclose(s.grad, -torch.exp(-s.detach()) * L + 1)
    s = L.log().requires_grad_()  # the minimum: weight exp(-s) = 1/L
    uncertainty_loss(L, s).backward()
    assert torch.allclose(s.grad, torch.zeros(3), atol=1e-6)

def test_uncertainty_factors():
    sc, rg = uncertainty_factors(TASKS, 'kendall')
    assert sc.tolist() == [1, 1, 1] and rg.tolist() == [1, .5, .5]
    sc, rg = uncertainty_factors([Task('a', 'regression', loss='mse')], 'kendall')
    assert sc.tolist() == [.5] and rg.tolist() == [.5]
    assert uncertainty_factors(TASKS)[0].tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="'simple' or 'kendall'"): uncertainty_factors(TASKS, 'x')

def test_pcgrad_projection():
    g1, g2 = torch.tensor([1., 0.]), torch.tensor([-1., 1.])
    pc = pcgrad_project(torch.stack([g1, g2]))
    assert torch.allclose(pc, torch.tensor([[.5, .5], [0., 1.]]))
    assert pc[0] @ g2 >= -1e-6 and pc[1] @ g1 >= -1e-6 and pc[0] @ pc[1] >= 0
    ok = torch.tensor([[1., .5], [.2, 1.]])
    assert torch.equal(pcgrad_project(ok), ok)  # no conflict: unchanged
    torch.manual_seed(0)
    gs = torch.randn(3, 20)
    pc = pcgrad_project(gs, order=[[1, 2], [0, 2], [0, 1]])
    assert pc[0] @ gs[2] >= -1e-5 and pc[1] @ gs[2] >= -1e-5 and pc[2] @ gs[1] >= -1e-5

def test_dwa_weights():
    prev, prev2 = torch.tensor([4., .5, 1.]), torch.tensor([8., .5, 1.25])
    w = dwa_weights(prev, prev2, T=2.)
    r = prev / prev2
    assert w.sum().item() == pytest.approx(3.)
    assert torch.allclose(w, 3 * torch.softmax(r / 2, 0))
    assert torch.allclose(dwa_weights(torch.ones(3), torch.ones(3)), torch.ones(3))

def test_gradnorm_grad_and_renormalise():
    g = gradnorm_grad(torch.ones(3), torch.tensor([10., .1, .2]), torch.ones(3))
    assert g.tolist() == pytest.approx([10., -.1, -.2])
    g = gradnorm_grad(torch.ones(2), torch.ones(2), torch.tensor([1., .5]), alpha=1.)
    assert g.tolist() == [-1., 1.]
    w = renormalise(torch.tensor([.5, 2., .5, -1.]))
    assert w.sum().item() == pytest.approx(4.) and (w > 0).all()

def test_alternating_weights():
    assert alternating_weights(4, 3).tolist() == [0., 1., 0.]
    assert alternating_weights(2, 3, torch.tensor([.1, 1., 5.])).tolist() == [0., 0., 5.]

def test_scale_weights():
    df = pd.DataFrame(dict(age=[10., 20, 30, 40], gender=['male', 'female'] * 2, race=['White'] * 4))
    assert scale_weights(df, TASKS) == pytest.approx([1 / df.age.std(), 1., 1.])
    assert scale_weights(df, TASKS, by='trivial')[:2] == pytest.approx([.1, 1 / math.log(2)])
    with pytest.raises(ValueError, match="'std' or 'trivial'"): scale_weights(df, TASKS, by='x')

def test_weighting_cbs():
    assert [type(c).__name__ for c in weighting_cbs('uncertainty+pcgrad')] == ['UncertaintyWeighting', 'PCGrad']
    with pytest.raises(ValueError, match='unknown strategy'): weighting_cbs('magic')
    with pytest.raises(ValueError, match='needs `df`'): weighting_cbs('scaled')
    df = pd.DataFrame(dict(age=[10., 20, 30, 40], gender=['male', 'female'] * 2, race=['White'] * 4))
    for s in STRATEGIES: pickle.loads(pickle.dumps(weighting_cbs(s, df, TASKS)))  # no lambdas or local classes

# --- statistics -------------------------------------------------------------------------------------------------

def test_ci95_and_delta_m():
    assert ci95([1., 2., 3.]) == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert math.isnan(ci95([1.]))
    assert delta_m({'age_mae': 9., 'gender_accuracy': .84}, {'age_mae': 10., 'gender_accuracy': .8}) == pytest.approx(7.5)

def test_summarise_runs():
    runs = pd.DataFrame([
        dict(strategy='single', seed=0, age_mae=10., gender_accuracy=np.nan, wall_s=1.),
        dict(strategy='single', seed=0, age_mae=np.nan, gender_accuracy=.8, wall_s=1.),
        dict(strategy='single', seed=1, age_mae=12., gender_accuracy=np.nan, wall_s=1.),
        dict(strategy='single', seed=1, age_mae=np.nan, gender_accuracy=.7, wall_s=1.),
        dict(strategy='x', seed=0, age_mae=9., gender_accuracy=.8, wall_s=2.),
        dict(strategy='x', seed=1, age_mae=12., gender_accuracy=.77, wall_s=2.)])
    s = summarise_runs(runs).set_index('strategy')
    assert s.loc['single', 'age_mae'] == 11. and s.loc['single', 'gender_accuracy'] == pytest.approx(.75)
    assert s.loc['x', 'n'] == 2 and s.loc['x', 'wall_s'] == 2.
    assert s.loc['x', 'age_mae_ci95'] == pytest.approx(12.7062 * 1.5, rel=1e-4)
    assert s.loc['x', 'delta_m'] == pytest.approx((relative_change(11, 10.5, 'age_mae') + relative_change(.75, .785, 'gender_accuracy')) / 2)
    assert s.loc['x', 'delta_m_ci95'] == pytest.approx(ci95([5., 5.]), nan_ok=True)
    assert s.loc['single', 'delta_m'] == 0.
    assert 'Δm %' in format_summary(summarise_runs(runs)).columns
    with pytest.raises(ValueError, match='no runs with strategy'): summarise_runs(runs, baseline='nope')

# --- on a tiny learner -----------------------------------------------------------------------------------------

def _fit(faces, cbs, tasks=TASKS, epochs=1):
    df = utkface_df(faces)
    return fit_tasks(df, faces, tasks, arch='tiny_cnn', epochs=epochs, size=32, bs=32, cbs=cbs, num_workers=0)[0]

class _HeadGrads(Callback):
    order = 100
    def __init__(self): self.touched = []
    def after_backward(self):
        self.touched.append([any(p.grad is not None and p.grad.abs().sum() > 0 for p in h.parameters()) for h in self.model[1].values()])
    def before_step(self): self.opt.zero_grad()

def test_alternating_touches_one_task_per_batch(faces):
    chk = _HeadGrads()
    learn = _fit(faces, [AlternatingTasks(), chk])
    assert chk.touched[:4] == [[True, False, False], [False, True, False], [False, False, True], [True, False, False]]
    assert set(weight_history(learn)[['w_age', 'w_gender', 'w_race']].sum(axis=1)) == {1.}

def test_dwa_and_gradnorm_on_learner(faces):
    learn = _fit(faces, DynamicWeightAverage(), epochs=3)
    h = weight_history(learn)
    assert np.allclose(h[['w_age', 'w_gender', 'w_race']].sum(axis=1), 3.)
    el = learn.dynamic_weight_average.epoch_losses
    assert len(el) == 3 and torch.allclose(learn.loss_func.weights, dwa_weights(el[1], el[0]))
    learn = _fit(faces, GradNorm())
    assert learn.loss_func.weights.sum().item() == pytest.approx(3., abs=1e-4)
    assert np.allclose(weight_history(learn)[['w_age', 'w_gender', 'w_race']].sum(axis=1), 3., atol=1e-4)

class _FirstGrads(Callback):
    order = 100
    def before_batch(self): self.model.eval()
    def after_backward(self):
        self.grads = [p.grad.clone() for p in self.model.parameters() if p.grad is not None]
        raise CancelFitException()

def _first_grads(faces, cbs, tasks):
    from fastai.torch_core import set_seed
    set_seed(0, reproducible=True)
    dls = mtl_dls(utkface_df(faces), faces, tasks, size=32, bs=32, num_workers=0)
    chk = _FirstGrads()
    mtl_learner(dls, tasks, arch='tiny_cnn', cbs=cbs + [chk]).fit(1, 1e-3)
    return chk.grads

def test_pcgrad_one_task_is_plain_backward(faces):
    a, b = _first_grads(faces, [], TASKS[:1]), _first_grads(faces, [PCGrad()], TASKS[:1])
    assert len(a) == len(b) and all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b))

def test_pcgrad_heads_get_their_own_gradient(faces):
    "Each head is reached by one task only, so PCGrad leaves the heads' gradients as they are"
    a, b = _first_grads(faces, [], TASKS[1:]), _first_grads(faces, [PCGrad()], TASKS[1:])
    assert len(a) == len(b)
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a[-4:], b[-4:]))

def test_uncertainty_learner_and_export(faces, tmp_path):
    learn = _fit(faces, UncertaintyWeighting(), epochs=2)
    s = learn.model.log_vars.log_vars.detach().clone()
    assert (s.abs() > 1e-3).all()
    assert any(p is learn.model.log_vars.log_vars for pl in learn.opt.param_lists for p in pl)
    assert torch.allclose(learn.loss_func.weights, torch.exp(-s))
    # the log-variances are part of the model: torch.save / pickle of the model keeps them
    torch.save(learn.model, tmp_path/'m.pth')
    assert torch.allclose(torch.load(tmp_path/'m.pth', weights_only=False).log_vars.log_vars, s)
    try: learn.export(tmp_path/'unc.pkl')
    except TypeError as e:
        if 'RLock' in str(e): pytest.xfail("plum-dispatch 2.10 cannot pickle fastai transforms (beartype/plum#322); pin plum-dispatch<2.10")
        raise
    loaded = load_learner(tmp_path/'unc.pkl')
    assert torch.allclose(loaded.model.log_vars.log_vars, s)
    assert len(loaded.predict(faces/utkface_df(faces).fname[0])[0]) == 3

def test_plot_weights(faces):
    import matplotlib; matplotlib.use('Agg')
    learn = _fit(faces, FixedWeights([.05, 1, 2]))
    assert learn.loss_func.weights.tolist() == pytest.approx([.05, 1, 2])
    assert plot_weights(learn) is not None
    with pytest.raises(ValueError, match='no LossWeighting callback'): weight_history(_fit(faces, None))
