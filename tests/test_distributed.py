"DDP training through fastai's distrib_ctx (chapter 8): 2 CPU processes with gloo must end with identical weights."
import json, os, socket, subprocess, sys, time
from pathlib import Path
import torch.distributed as dist
from torch import nn
from fastai.distributed import DistributedDL
from fastai.learner import load_learner
from mtl_course.distributed import use_cpu, world_size, init_distributed, weights_digest, sync_buffers

TINY = ['--n_synthetic', '200', '--size', '32', '--epochs', '1', '--bs', '16', '--workers', '0', '--cpu', '--dump_ranks']

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def launch(launcher:list, out:Path, timeout:int=180) -> subprocess.CompletedProcess:
    "Run `python -m mtl_course.distributed` with tiny settings under `launcher` (2 CPU processes)"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    cmd = [sys.executable, '-m', *launcher, '-m', 'mtl_course.distributed', '--out', str(out), *TINY]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=out.parent)

def check_two_ranks(r:subprocess.CompletedProcess, out:Path) -> list[dict]:
    assert r.returncode == 0, f"rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    ranks = [json.loads((out/f'rank{i}.json').read_text()) for i in range(2)]
    assert [o['rank'] for o in ranks] == [0, 1] and all(o['world_size'] == 2 for o in ranks)
    assert all(o['model_type'] == 'DistributedDataParallel' for o in ranks)
    # each rank ran half of the 160 training images (200 faces, 20% validation), in 5 batches of 16
    assert [o['n_train_batches'] for o in ranks] == [5, 5] and sum(o['n_train_items'] for o in ranks) == 160
    assert ranks[0]['digest'] == ranks[1]['digest'], "the ranks ended with different weights"
    assert ranks[0]['metrics'] == ranks[1]['metrics']
    # only rank 0 writes the outputs
    assert sorted(p.name for p in out.iterdir()) == ['metrics.json', 'mtl_model.pkl', 'rank0.json', 'rank1.json']
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

def test_single_process(tmp_path):
    "Without a launcher the same command trains in-process, without DDP"
    from mtl_course.distributed import train_cmd
    info = train_cmd(out=str(tmp_path/'one'), n_synthetic=120, size=32, epochs=1, bs=16, workers=0)
    assert info['world_size'] == 1 and info['model_type'] != 'DistributedDataParallel'
    assert sorted(p.name for p in (tmp_path/'one').iterdir()) == ['metrics.json', 'mtl_model.pkl']

def test_helpers(monkeypatch):
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    assert use_cpu(True) and not use_cpu(False)
    monkeypatch.setenv('ACCELERATE_USE_CPU', '1'); assert use_cpu()
    assert world_size() == 1 and init_distributed() == (0, 1) and not dist.is_initialized()
    m1, m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m2.load_state_dict(m1.state_dict())
    assert weights_digest(m1) == weights_digest(m2) == weights_digest(sync_buffers(m2))
    m2[1].running_var += 1e-6
    assert weights_digest(m1) != weights_digest(m2)
    # importing the whole library patches nothing; the explicit fix makes the index broadcast work on gloo (CPU processes)
    import mtl_course.all  # noqa: F401
    from mtl_course.compat import broadcast_needs_fix, fix_distributed_broadcast
    assert broadcast_needs_fix()
    monkeypatch.setattr(DistributedDL, '_broadcast', DistributedDL.__dict__['_broadcast'])  # fastai's own, restored after the test
    assert fix_distributed_broadcast() and not broadcast_needs_fix()
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0, world_size=1)
    try: assert DistributedDL._broadcast(None, [3, 1, 2], 0) == [3, 1, 2]
    finally: dist.destroy_process_group()
