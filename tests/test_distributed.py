"DDP training through fastai's distrib_ctx (chapter 8, nbs/08a_distributed.ipynb), in fresh processes: 2 CPU processes with gloo must end with identical weights."
import json, math, os, socket, subprocess, sys, time
from pathlib import Path
from torch import nn
from fastai.learner import load_learner
from mtl_course.distributed import weights_digest

TINY = ['--n_synthetic', '200', '--size', '32', '--epochs', '1', '--bs', '16', '--workers', '0', '--cpu', '--dump_ranks']

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def launch(launcher:list, out:Path, timeout:int=180, extra:tuple=()) -> subprocess.CompletedProcess:
    "Run `python -m mtl_course.cli train` (`mtl-course train`) with tiny settings under `launcher` (2 CPU processes)"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    cmd = [sys.executable, '-m', *launcher, '-m', 'mtl_course.cli', 'train', '--out', str(out), *TINY, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=out.parent)

def n_train_images() -> int:
    "How many of the tiny runs' 200 synthetic faces the fixed split puts in training (the same files the ranks load)"
    from mtl_course.synthetic import synthetic_faces
    from mtl_course.utkface import utkface_df
    from mtl_course.data import add_split
    return int((add_split(utkface_df(synthetic_faces(n=200, size=32), verbose=False)).split == 'train').sum())

def check_two_ranks(r:subprocess.CompletedProcess, out:Path) -> list[dict]:
    assert r.returncode == 0, f"rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    ranks = [json.loads((out/f'rank{i}.json').read_text()) for i in range(2)]
    assert [o['rank'] for o in ranks] == [0, 1] and all(o['world_size'] == 2 for o in ranks)
    assert all(o['model_type'] == 'DistributedDataParallel' for o in ranks)
    # each rank ran its half of the training images, in full batches of 16 (the last partial batch dropped, as fastai trains)
    b = math.ceil(n_train_images() / 2) // 16
    assert b > 0 and [o['n_train_batches'] for o in ranks] == [b, b] and sum(o['n_train_items'] for o in ranks) == 2 * 16 * b
    assert ranks[0]['digest'] == ranks[1]['digest'], "the ranks ended with different weights"
    assert ranks[0]['metrics'] == ranks[1]['metrics']
    # only rank 0 writes the outputs
    assert sorted(p.name for p in out.iterdir()) == ['metrics.json', 'mtl_model', 'mtl_model.pkl', 'rank0.json', 'rank1.json']
    m = json.loads((out/'metrics.json').read_text())
    assert m['world_size'] == 2 and m['effective_bs'] == 32 and m['digest'] == ranks[0]['digest']
    assert set(m['metrics']) == {'age_mae', 'gender_accuracy', 'race_accuracy'}
    return ranks

def test_torchrun_two_cpu_ranks(tmp_path):
    out = tmp_path/'ddp'
    t0 = time.time()
    r = launch(['torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port())], out)
    ranks = check_two_ranks(r, out)
    assert '2 process(es) on CPU, backend gloo' in r.stdout
    # the exported model is an ordinary (unwrapped) learner holding exactly the weights both ranks ended with
    learn = load_learner(out/'mtl_model.pkl')
    assert not isinstance(learn.model, nn.parallel.DistributedDataParallel)
    assert weights_digest(learn.model) == ranks[0]['digest']
    print(f"torchrun, 2 ranks: {time.time()-t0:.1f} s")

def test_accelerate_launch_two_cpu_ranks(tmp_path):
    "`accelerate launch --multi_gpu` starts 2 processes via torchrun; with `--cpu` `train_cmd` uses gloo"
    out = tmp_path/'acc'
    r = launch(['accelerate.commands.launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                '--dynamo_backend', 'no', '--main_process_port', str(free_port())], out)
    check_two_ranks(r, out)

def test_import_patches_nothing():
    "Importing the whole library, in a fresh process, leaves fastai's `DistributedDL` as it is: `train_cmd` applies the fix, not the import"
    code = "import mtl_course.all; from mtl_course.compat import broadcast_needs_fix; print(broadcast_needs_fix())"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == 'True', r.stdout[-2000:] + r.stderr[-2000:]

_STRATEGIES_SCRIPT = '''
import json, sys, torch
from fastai.torch_core import set_seed
from fastai.distributed import *
from mtl_course.distributed import init_distributed, weights_digest, sync_buffers
from mtl_course.synthetic import synthetic_faces
from mtl_course.utkface import utkface_df, utkface_tasks
from mtl_course.data import mtl_dls
from mtl_course.learner import mtl_learner
from mtl_course.weighting import weighting_cbs, weight_history
from mtl_course.compat import fix_distributed_broadcast
fix_distributed_broadcast()
rank, ws = init_distributed(cpu=True)
path = synthetic_faces(n=200, size=32); df = utkface_df(path, verbose=False); tasks = utkface_tasks()
from fastai.callback.fp16 import MixedPrecision
class CPUMixedPrecision(MixedPrecision):  # fp16 (with a CPU GradScaler: loss scaling really on) or bf16, with a CPU autocast
    def before_fit(self):
        import warnings
        with warnings.catch_warnings(): warnings.simplefilter('ignore'); super().before_fit()
        fp16 = self.amp_mode == 'fp16'
        self.autocast = torch.autocast('cpu', dtype=torch.float16 if fp16 else torch.bfloat16)
        self.learn.scaler = torch.amp.GradScaler('cpu', init_scale=2.**10, enabled=fp16)
out = {}
for s in sys.argv[2:]:
    name, _, amp = s.partition('@')
    set_seed(0, reproducible=True)
    dls = mtl_dls(df, path, tasks, size=32, bs=16, seed=0, num_workers=0, device=torch.device('cpu'))
    learn = mtl_learner(dls, tasks, arch='tiny_cnn', cbs=weighting_cbs(name, df, tasks) + ([CPUMixedPrecision(amp)] if amp else []))
    with learn.no_bar(), learn.no_logging(), learn.distrib_ctx(sync_bn=False, cpu=True): learn.fit(2, 1e-3)
    sync_buffers(learn.model)
    h = weight_history(learn)
    out[s] = dict(digest=weights_digest(learn.model), weights=h.filter(like='w_').values.round(6).tolist())
json.dump(out, open(f"{sys.argv[1]}/rank{rank}.json", 'w'))
import torch.distributed as dist
dist.barrier(); dist.destroy_process_group()  # leaving with the process group alive can abort at exit ("terminate called without an active exception")
'''

def test_every_strategy_under_ddp(tmp_path):
    "2 CPU processes (gloo) train with every strategy (some also in fp16 with a real loss scaler, and in bf16) and end with identical weights and identical loss weights on both ranks"
    strategies = ['equal', 'scaled', 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'alternating', 'famo', 'scaled+pcgrad', 'gradnorm@fp16', 'pcgrad@fp16', 'famo@bf16', 'pcgrad@bf16']
    script = tmp_path/'strategies.py'; script.write_text(_STRATEGIES_SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port()),
                        str(script), str(tmp_path), *strategies], capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert r.returncode == 0, f"rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    r0, r1 = (json.loads((tmp_path/f'rank{i}.json').read_text()) for i in range(2))
    for s in strategies:
        assert r0[s]['weights'] == r1[s]['weights'], f"{s}: the ranks used different loss weights"
        assert r0[s]['digest'] == r1[s]['digest'], f"{s}: the ranks ended with different model weights"

def test_train_command_with_a_strategy_on_two_ranks(tmp_path):
    "`mtl-course train --strategy scaled+pcgrad` under torchrun: both ranks end with the same weights"
    out = tmp_path/'pc'
    r = launch(['torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port())], out, extra=('--strategy', 'scaled+pcgrad'))
    check_two_ranks(r, out)
    assert json.loads((out/'metrics.json').read_text())['settings']['strategy'] == 'scaled+pcgrad'

_RESUME_SCRIPT = _STRATEGIES_SCRIPT.split('out = {}')[0] + '''
from fastai.callback.core import Callback, CancelFitException
from mtl_course.checkpoint import CheckpointCallback, resume_fit
class Crash(Callback):
    order = CheckpointCallback.order + 1
    def after_epoch(self):
        if self.epoch == 0: raise CancelFitException()
mode, out = sys.argv[2], {}
for s in sys.argv[3:]:
    set_seed(0, reproducible=True)
    dls = mtl_dls(df, path, tasks, size=32, bs=16, seed=0, num_workers=0, device=torch.device('cpu'))
    cbs = weighting_cbs(s, df, tasks) + ([CheckpointCallback('run'), Crash()] if mode == 'crash' else [])
    learn = mtl_learner(dls, tasks, arch='tiny_cnn', path=f"{sys.argv[1]}/{s}", cbs=cbs)
    with learn.no_bar(), learn.no_logging(), learn.distrib_ctx(sync_bn=False, cpu=True):
        if mode == 'resume': resume_fit(learn, 'run', 2, 1e-2)
        else: learn.fit_one_cycle(2, 1e-2)
    out[s] = weights_digest(learn.model)
json.dump(out, open(f"{sys.argv[1]}/{mode}{rank}.json", 'w'))
import torch.distributed as dist
dist.barrier(); dist.destroy_process_group()
'''

def test_ddp_run_resumes_exactly(tmp_path):
    "2 gloo ranks: a run stopped after epoch 1 of 2 and resumed by a new launch ends with the uninterrupted run's weights, on both ranks"
    strategies = ['equal', 'dwa', 'gradnorm', 'famo']
    script = tmp_path/'resume.py'; script.write_text(_RESUME_SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    for mode in ('full', 'crash', 'resume'):
        r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port()),
                            str(script), str(tmp_path), mode, *strategies], capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
        assert r.returncode == 0, f"{mode}: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    full, resumed = [[json.loads((tmp_path/f'{m}{i}.json').read_text()) for i in range(2)] for m in ('full', 'resume')]
    for s in strategies:
        assert full[0][s] == full[1][s] == resumed[0][s] == resumed[1][s], f"{s}: the resumed DDP run differs"
