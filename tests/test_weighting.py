"Loss weighting (chapter 4) in a fresh process: bench/weighting.py on tiny settings, with a strategy of one's own registered from a file."
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--n_synthetic', '300', '--size', '32', '--bs', '32', '--epochs', '1', '--seeds', '0', '--threads', '1', '--workers', '0']

def _bench(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT/'bench'/'weighting.py'), *TINY, *args], capture_output=True, text=True, timeout=600, cwd=cwd)

def test_weighting_bench_with_a_registered_strategy(tmp_path, half_age_py):
    "A strategy registered with `@register_weighting` in a file of one's own runs by name through `--imports`, next to a built-in combination"
    out = tmp_path/'out'
    r = _bench('--imports', str(half_age_py), '--strategies', 'scaled+pcgrad half_age', '--out', str(out))  # MTL_COURSE_HOME: a temp dir (conftest)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = pd.read_csv(out/'runs.csv')
    assert runs.strategy.tolist() == ['single'] * 3 + ['scaled+pcgrad', 'half_age']
    summary = pd.read_csv(out/'summary.csv')
    assert summary.strategy.tolist() == ['single', 'scaled+pcgrad', 'half_age'] and np.isfinite(summary.delta_m).all()
    assert '| half_age |' in (out/'summary.md').read_text() and (out/'weighting.png').stat().st_size > 0
    r = _bench('--summarise_only', '--out', str(out))  # the summary again, from runs.csv alone
    assert r.returncode == 0, r.stderr[-3000:]
    assert pd.read_csv(out/'summary.csv').strategy.tolist() == summary.strategy.tolist()

def test_weighting_bench_unknown_strategy_fails_before_training(tmp_path):
    r = _bench('--strategies', 'scaled nope', '--out', str(tmp_path/'out'))
    assert r.returncode != 0 and "unknown strategy 'nope'" in r.stderr
    assert not (tmp_path/'out'/'runs.csv').exists()  # not even the single-task runs were trained

_RUN = '''
import torch
from fastai.callback.core import Callback, CancelFitException
from mtl_course.utkface import utkface_df, utkface_tasks
from mtl_course.data import mtl_dls
from mtl_course.learner import mtl_learner
from mtl_course.weighting import weighting_cbs, weight_history
from mtl_course.checkpoint import CheckpointCallback, resume_fit
from fastai.torch_core import set_seed
def make(faces, path, strategy, cbs=()):
    set_seed(0, reproducible=True)
    df = utkface_df(faces, verbose=False); tasks = utkface_tasks()
    dls = mtl_dls(df, faces, tasks, size=32, bs=32, seed=0, num_workers=0)
    return mtl_learner(dls, tasks, arch='tiny_cnn', path=path, cbs=[*weighting_cbs(strategy, df, tasks), *cbs])
class Crash(Callback):
    order = CheckpointCallback.order + 1
    def after_epoch(self):
        if self.epoch == 1: raise CancelFitException()
'''
STATEFUL = ['scaled', 'dwa', 'gradnorm', 'alternating', 'famo', 'uncertainty', 'pcgrad']

def test_every_strategy_resumes_exactly_in_a_new_process(faces, tmp_path):
    "Stopped after epoch 2 of 3 and resumed by another Python, every strategy ends with the uninterrupted run's weights and loss weights"
    import torch
    ns = {}; exec(_RUN, ns)
    full, hist = {}, {}
    for s in STATEFUL:
        learn = ns['make'](faces, tmp_path/s, s)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 1e-2)
        full[s], hist[s] = learn.model.state_dict(), ns['weight_history'](learn)
        crashed = ns['make'](faces, tmp_path/s, s, cbs=[ns['CheckpointCallback']('run'), ns['Crash']()])
        with crashed.no_bar(), crashed.no_logging(): crashed.fit_one_cycle(3, 1e-2)
    code = _RUN + f"""
for s in {STATEFUL!r}:
    learn = make({str(faces)!r}, {str(tmp_path)!r} + '/' + s, s)
    with learn.no_bar(), learn.no_logging(): resume_fit(learn, 'run', 3, 1e-2)
    learn.save('resumed', with_opt=False)
    weight_history(learn).to_csv({str(tmp_path)!r} + '/' + s + '/history.csv', index=False)
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for s in STATEFUL:
        resumed = torch.load(tmp_path/s/'models'/'resumed.pth', weights_only=True)
        same = all(torch.equal(a, resumed[k]) for k, a in full[s].items())
        h = pd.read_csv(tmp_path/s/'history.csv')
        assert same, f"{s}: the resumed run's weights differ from the uninterrupted run's"
        assert len(h) == len(hist[s]) and np.allclose(h.filter(like='w_').values, hist[s].filter(like='w_').values, atol=0), s

_AMP = '''
import torch
from fastai.callback.fp16 import MixedPrecision, AMPMode
class CPUMixedPrecision(MixedPrecision):
    "fastai's MixedPrecision with CPU autocast and a CPU GradScaler: fp16 loss scaling that is really on, on a CPU"
    def __init__(self, amp_mode='fp16', autocast=True, init_scale=2.**10):
        super().__init__(amp_mode); self.use_autocast, self.init_scale = autocast, init_scale
    def before_fit(self):
        import warnings
        with warnings.catch_warnings(): warnings.simplefilter('ignore'); super().before_fit()  # fastai's CUDA scaler: disabled on a CPU
        fp16 = self.amp_mode == AMPMode.FP16
        self.autocast = torch.autocast('cpu', dtype=torch.float16 if fp16 else torch.bfloat16, enabled=self.use_autocast)
        self.learn.scaler = torch.amp.GradScaler('cpu', enabled=fp16, init_scale=self.init_scale)
'''

def test_every_strategy_under_mixed_precision(faces, tmp_path):
    "fp16 with a real loss scaler and bf16, on a CPU: every strategy trains; PCGrad and GradNorm scale and unscale so that a scaled step equals the fp32 one"
    import torch
    ns = {}; exec(_RUN + _AMP, ns)
    def run(s, cbs=()):
        learn = ns['make'](faces, tmp_path/s, s, cbs=list(cbs))
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
        return learn
    for s in ['equal', 'scaled', 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'alternating', 'famo', 'scaled+pcgrad', 'dwa+pcgrad']:
        for mode in ('fp16', 'bf16'):
            learn = run(s, [ns['CPUMixedPrecision'](mode)])
            assert all(np.isfinite(float(l)) for l in learn.recorder.losses), (s, mode)
    for s in ['pcgrad', 'gradnorm', 'scaled+pcgrad']:  # loss scaling alone (no autocast): the same weights as fp32, up to rounding
        ref, scaled = run(s), run(s, [ns['CPUMixedPrecision']('fp16', autocast=False)])
        for (k, a), b in zip(ref.model.state_dict().items(), scaled.model.state_dict().values()):
            if a.is_floating_point(): assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), (s, k, (a - b).abs().max())

def test_every_strategy_on_the_fast_path_exports_and_predicts(faces, tmp_path):
    "On `fast_dls` (fp32, and fp16 with a real scaler for the gradient methods): every strategy trains, and its model exports both ways and predicts the same"
    ns = {}; exec(_RUN + _AMP, ns)
    from mtl_course.fast import fast_dls
    from mtl_course.learner import mtl_learner
    from mtl_course.utkface import utkface_df, utkface_tasks
    from mtl_course.weighting import weighting_cbs
    from mtl_course.inference import export_learner, load_model, predict
    df, tasks = utkface_df(faces, verbose=False), utkface_tasks()
    f = faces/df.fname[0]
    for s in ['equal', 'scaled', 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'alternating', 'famo']:
        for amp in ([None, 'fp16'] if s in ('gradnorm', 'pcgrad') else [None]):
            dls = fast_dls(df, faces, tasks, size=32, bs=32, device='cpu', cache_dir=tmp_path/'cache', aug_seed=0, verbose=False)
            cbs = weighting_cbs(s, df, tasks) + ([ns['CPUMixedPrecision'](amp)] if amp else [])
            learn = mtl_learner(dls, tasks, arch='tiny_cnn', path=tmp_path, cbs=cbs)
            with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
            assert all(np.isfinite(float(l)) for l in learn.recorder.losses), (s, amp)
            p = predict(learn, f)
            for m in (export_learner(learn, tmp_path/f'{s}.pkl'), export_learner(learn, tmp_path/f'{s}_safe', safe=True)):
                q = predict(load_model(m), f)
                tol = 1e-3 if amp is None else 0.1  # the fp16 learner predicts under autocast too; the safe export in fp32
                assert (amp or q['race'] == p['race']) and abs(q['age'] - p['age']) < tol, (s, amp, m)

_FAST = '''
from mtl_course.fast import fast_dls
def make_fast(faces, path, strategy, cbs=()):
    set_seed(0, reproducible=True)
    df = utkface_df(faces, verbose=False); tasks = utkface_tasks()
    dls = fast_dls(df, faces, tasks, size=32, bs=32, device='cpu', cache_dir=f"{path}/../cache", aug_seed=0, verbose=False)
    return mtl_learner(dls, tasks, arch='tiny_cnn', path=path, cbs=[*weighting_cbs(strategy, df, tasks), *cbs])
'''

def test_fast_path_resumes_exactly_in_a_new_process(faces, tmp_path):
    from mtl_course.weighting import STRATEGIES
    "On `fast_dls` (its own shuffling and augmentation generator), a run stopped after epoch 2 of 3 and resumed in a new process ends exactly as the uninterrupted one"
    import torch
    ns = {}; exec(_RUN + _FAST, ns)
    full = {}
    for s in STRATEGIES:
        learn = ns['make_fast'](faces, tmp_path/s, s)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 1e-2)
        full[s] = learn.model.state_dict()
        crashed = ns['make_fast'](faces, tmp_path/s, s, cbs=[ns['CheckpointCallback']('run'), ns['Crash']()])
        with crashed.no_bar(), crashed.no_logging(): crashed.fit_one_cycle(3, 1e-2)
    code = _RUN + _FAST + f"""
from mtl_course.weighting import STRATEGIES
for s in STRATEGIES:
    learn = make_fast({str(faces)!r}, {str(tmp_path)!r} + '/' + s, s)
    with learn.no_bar(), learn.no_logging(): resume_fit(learn, 'run', 3, 1e-2)
    learn.save('resumed', with_opt=False)
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for s in STRATEGIES:
        resumed = torch.load(tmp_path/s/'models'/'resumed.pth', weights_only=True)
        assert all(torch.equal(a, resumed[k]) for k, a in full[s].items()), f"{s}: the resumed fast-path run differs"
