"Model, loss, metrics and learner on hand-made tensors, for 1, 2 and 3 tasks."
import math
import pytest, torch
from types import SimpleNamespace
from mtl_course.tasks import *
from mtl_course.data import *
from mtl_course.synthetic import *
from mtl_course.model import *
from mtl_course.losses import *
from mtl_course.metrics import *
from mtl_course.learner import *

TASKS = utkface_tasks()
PREDS = (torch.tensor([[20.], [30.]]), torch.tensor([[20., -20.], [-20., 20.]]), torch.zeros(2, 5))
TARGS = (torch.tensor([22., 26.]), torch.tensor([0, 1]), torch.tensor([3, 0]))
KNOWN = {'age': 3., 'gender': 0., 'race': math.log(5)}

@pytest.mark.parametrize('names', ['age', 'race', 'gender race', 'age race', 'age gender race'])
def test_loss_known_values(names):
    tasks = utkface_tasks(names)
    idx = [t.name for t in TASKS].index
    preds = tuple(PREDS[idx(t.name)] for t in tasks); targs = [TARGS[idx(t.name)] for t in tasks]
    loss = MultiTaskLoss(tasks)
    assert loss(preds, *targs).item() == pytest.approx(sum(KNOWN[t.name] for t in tasks), abs=1e-4)
    w = [0.5 * (i + 1) for i in range(len(tasks))]
    assert MultiTaskLoss(tasks, weights=w)(preds, *targs).item() == pytest.approx(sum(wi * KNOWN[t.name] for wi, t in zip(w, tasks)), abs=1e-4)
    dec = loss.decodes(loss.activation(preds))
    assert len(dec) == len(tasks)

def test_loss_reduction_none_and_decodes():
    loss = MultiTaskLoss(TASKS, reduction='none')
    per_item = loss(PREDS, *TARGS)
    assert per_item.shape == (2,) and per_item.tolist() == pytest.approx([2 + math.log(5), 4 + math.log(5)], abs=1e-4)
    loss.reduction = 'mean'
    act = loss.activation(PREDS)
    assert act[1].sum(1).tolist() == pytest.approx([1, 1]) and act[0].shape == (2,)
    assert [d.tolist() for d in loss.decodes(act)] == [[20., 30.], [0, 1], [0, 0]]
    with pytest.raises(ValueError, match='has 3 tasks'): loss(PREDS[:1], *TARGS[:1])

def test_metrics_known_values():
    ms = mtl_metrics(TASKS)
    for m in ms:
        m.reset(); m.accumulate(SimpleNamespace(pred=PREDS, yb=TARGS))
    assert [m.value for m in ms] == pytest.approx([3., 1., 0.5])
    assert [m.name for m in ms] == ['age_mae', 'gender_accuracy', 'race_accuracy']

def test_unknown_loss_and_metric():
    with pytest.raises(ValueError, match='unknown loss'): task_loss(Task('x', classes=['a', 'b'], loss='nope'), PREDS[1], TARGS[1])
    with pytest.raises(ValueError, match='unknown metric'): TaskMetric(0, Task('x', classes=['a', 'b'], metric='nope'))

@pytest.mark.parametrize('names', ['race', 'age gender', 'age gender race'])
def test_learner_trains_and_decodes(faces, names):
    tasks = utkface_tasks(names)
    df = utkface_df(faces)
    learn, m = fit_tasks(df, faces, tasks, arch='tiny_cnn', epochs=1, size=32, bs=32, num_workers=0)
    assert set(m) == {mm.name for mm in mtl_metrics(tasks)}
    probs, targs, dec = learn.get_preds(with_decoded=True)
    if len(tasks) == 1: probs, dec = (probs,), (dec,)  # fastai unwraps one-element tuples
    assert len(probs) == len(tasks) == len(dec)
    for t, p, d in zip(tasks, probs, dec):
        if t.is_clf: assert p.shape[1] == t.n_out and torch.equal(d, p.argmax(1))
        else: assert p.dim() == 1 and ((d >= 0) & (d <= 120)).all()
    _, _, losses = learn.get_preds(with_loss=True)
    assert losses.shape == (len(learn.dls.valid_ds),)

def test_learner_rejects_mismatched_tasks(faces):
    dls = mtl_dls(utkface_df(faces), faces, utkface_tasks('age'), size=32, num_workers=0)
    with pytest.raises(ValueError, match='1 target'): mtl_learner(dls, TASKS, arch='tiny_cnn')

def test_pretrained_offline_error():
    import torchvision
    from urllib.error import URLError
    from fastai.vision.all import model_meta
    def offline_resnet(weights=None, **kw):
        if weights is not None: raise URLError('offline')
        return torchvision.models.resnet18()
    model_meta[offline_resnet] = model_meta[torchvision.models.resnet18]
    with pytest.raises(RuntimeError, match='pretrained=False'): mtl_model(TASKS, offline_resnet)
    assert mtl_model(TASKS, offline_resnet, pretrained=False).task_names == ['age', 'gender', 'race']

def test_relative_change_sign():
    assert relative_change(10., 9., 'age_mae') == pytest.approx(10.)
    assert relative_change(0.8, 0.88, 'race_accuracy') == pytest.approx(10.)
