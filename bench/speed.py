"""Where does training time go? The standard fastai pipeline vs the fast data path of chapter 7 vs the compute ceiling.

Runs in ONE process, with the same model, image size, batch size and optimizer:
  (a) std      the course's standard pipeline: `mtl_dls` (DataBlock, PIL decode + Resize in DataLoader workers,
               `aug_transforms` on the GPU) + `mtl_learner` + fastai `MixedPrecision` (fp16 by default)
  (b) fast     `mtl_course.fast.fast_dls` (uint8 tensor cache on the GPU, batched GPU augmentation)
               + the same `mtl_learner` + `speed_up`: fp16 (--amp bf16) + channels_last, with `FastMixedPrecision` and
               `AsyncSmoothLoss`, so that no training step waits for the GPU
      b_fast_stock  the same data path with fastai's stock `MixedPrecision` and `Recorder` (three waits per step; --no-stock skips it)
  (c) ceiling  the same model's training step (forward + loss + backward + optimizer) on random GPU-resident
               tensors, no data pipeline, the same autocast precision + channels_last, eager (and torch.compile with --compile)
and writes speed.csv and speed.md (a markdown table) to --out.
Throughput counts training images only and, with more than one epoch, excludes the first (warm-up) epoch.
syncs_per_step (GPU only): host-device synchronisations per training step, counted by `mtl_course.fast.sync_points` after the timed fit.

GPU (UTKFace):  python bench/speed.py --data /path/to/UTKFace --arch resnet34 --size 128 --bs 256 --epochs 5 [--pinned] [--compile]
CPU smoke test: python bench/speed.py --arch tiny_cnn --size 32 --bs 64 --epochs 1 --n_synthetic 300 --workers 0
"""
import gc, sys, time
from pathlib import Path
import pandas as pd, torch
from fastai.vision.all import *
from mtl_course.utkface import utkface_tasks
from mtl_course.data import mtl_dls
from mtl_course.model import mtl_model, resolve_arch
from mtl_course.losses import MultiTaskLoss
from mtl_course.learner import mtl_learner
from mtl_course.fast import fast_dls, speed_up, fused_adamw, sync_points
sys.path.insert(0, str(Path(__file__).parent))
from common import md_table, machine, faces, dl_kwargs  # bench/common.py
from mtl_course.script import call_parse  # after the star imports: the same flags under fastcore 1 and 2


def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()


def reset_memory():
    gc.collect()
    if torch.cuda.is_available(): torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float:
    return round(torch.cuda.max_memory_allocated()/2**30, 2) if torch.cuda.is_available() else float('nan')


class EpochTimer(Callback):
    "Wall time and number of images of each training epoch, measured between two `torch.cuda.synchronize()`"
    order = 100
    def before_fit(self): self.train_s, self.n_imgs = [], []
    def before_train(self): sync(); self.t0, self.n = time.perf_counter(), 0
    def after_batch(self):
        if self.training: self.n += find_bs(self.yb)
    def after_train(self):
        sync(); self.train_s.append(time.perf_counter() - self.t0); self.n_imgs.append(self.n)
    def img_s(self, skip_first:bool=True) -> float:
        k = 1 if skip_first and len(self.train_s) > 1 else 0
        return sum(self.n_imgs[k:]) / sum(self.train_s[k:])


def fit_run(name:str, make_dls, tasks, a, amp:str|None, fast:bool, sync_free:bool=True) -> dict:
    "Build the dls with `make_dls()`, train an `mtl_learner` from scratch and time it"
    reset_memory(); set_seed(a.seed)
    t0 = time.perf_counter()
    dls = make_dls()
    prep = time.perf_counter() - t0
    timer = EpochTimer()
    learn = mtl_learner(dls, tasks, arch=a.arch, pretrained=False, opt_func=fused_adamw, cbs=[timer])
    if fast: speed_up(learn, amp=amp, sync_free=sync_free)  # mixed precision + channels_last (+ no per-step waits) on a GPU, nothing on the CPU
    elif amp and torch.cuda.is_available(): learn.add_cb(MixedPrecision(amp_mode=amp))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, a.lr)
    sync()
    wall = time.perf_counter() - t0
    names, vals = learn.recorder.metric_names[1:-1], learn.recorder.values[-1]
    m = dict(zip(names, vals))
    res = dict(run=name, amp=amp if torch.cuda.is_available() else 'fp32', img_s=round(timer.img_s(), 1),
               img_s_all_epochs=round(timer.img_s(False), 1), first_epoch_s=round(timer.train_s[0], 2),
               epoch_s=round(sum(timer.train_s[1:])/max(1, len(timer.train_s)-1), 2) if len(timer.train_s) > 1 else round(timer.train_s[0], 2),
               prep_s=round(prep, 2), wall_s=round(wall, 1), peak_gpu_gb=peak_gb(),
               age_mae=round(float(m.get('age_mae', float('nan'))), 3), gender_acc=round(float(m.get('gender_accuracy', float('nan'))), 4),
               race_acc=round(float(m.get('race_accuracy', float('nan'))), 4))
    # after the timed fit and after reading its timer (`sync_points` trains a few more batches)
    try: syncs = float(sync_points(learn).per_batch.sum()) if torch.cuda.is_available() and a.sync_check else float('nan')
    except Exception as e: print(f"{name}: sync check failed ({type(e).__name__}: {e})"); syncs = float('nan')
    res['syncs_per_step'] = syncs
    print(f"{name}: {res['img_s']:.0f} img/s (all epochs {res['img_s_all_epochs']:.0f}), wall {wall:.1f} s, "
          f"age MAE {res['age_mae']}, gender acc {res['gender_acc']}, race acc {res['race_acc']}, syncs/step {syncs}", flush=True)
    del learn, dls; reset_memory()
    return res


def ceiling_run(name:str, tasks, a, compile:bool=False) -> dict:
    "Training steps of the same model on random device-resident tensors: the most the GPU can do without a data pipeline"
    reset_memory(); torch.manual_seed(a.seed)
    dev = default_device()
    cuda = dev.type == 'cuda'
    t0 = time.perf_counter()
    model = mtl_model(tasks, resolve_arch(a.arch), pretrained=False).to(dev).train()
    if cuda: model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if compile else model
    loss_func = MultiTaskLoss(tasks)
    loss_func.weights = loss_func.weights.to(dev)  # as `speed_up` does: no CPU tensor in the step
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, **(dict(fused=True) if cuda else dict(foreach=True)))
    x = torch.randn(a.bs, 3, a.size, a.size, device=dev)
    if cuda: x = x.contiguous(memory_format=torch.channels_last)
    ys = [torch.randint(0, t.n_out, (a.bs,), device=dev) if t.is_clf else torch.rand(a.bs, device=dev)*100 for t in tasks]
    dtype = torch.float16 if a.amp == 'fp16' else torch.bfloat16  # the fast path's precision; fp16 needs a gradient scaler, as fastai's MixedPrecision uses
    scaler = torch.amp.GradScaler('cuda', enabled=cuda and a.amp == 'fp16')
    def step():
        with torch.autocast(dev.type, dtype=dtype, enabled=cuda):
            loss = loss_func(step_model(x), *ys)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
    n_warm = max(3, a.ceiling_steps//5)
    for _ in range(n_warm): step()
    sync(); t1 = time.perf_counter()
    for _ in range(a.ceiling_steps): step()
    sync(); dt = time.perf_counter() - t1
    res = dict(run=name, amp=a.amp if cuda else 'fp32', img_s=round(a.ceiling_steps*a.bs/dt, 1), img_s_all_epochs=float('nan'),
               first_epoch_s=float('nan'), epoch_s=float('nan'), prep_s=round(t1 - t0, 2), wall_s=round(time.perf_counter() - t0, 1),
               peak_gpu_gb=peak_gb(), age_mae=float('nan'), gender_acc=float('nan'), race_acc=float('nan'), syncs_per_step=float('nan'))
    print(f"{name}: {res['img_s']:.0f} img/s ({a.ceiling_steps} steps after {n_warm} warm-up steps)", flush=True)
    del model, step_model, opt; reset_memory()
    return res


@call_parse
def main(data:str=None, # folder or archive of UTKFace images (default: synthetic faces)
         out:str='mtl_out/speed', # output folder for speed.csv and speed.md
         arch:str='resnet34', # backbone (from scratch: pretrained=False)
         size:int=128, # image size
         bs:int=256, # batch size
         epochs:int=5, # epochs of (a) and (b); throughput excludes the first one when there are several
         lr:float=3e-3, # learning rate of fit_one_cycle (fused AdamW for all runs)
         amp_std:str='fp16', # mixed precision of the standard pipeline (fp16 or bf16; ignored on the CPU)
         amp:str='fp16', # mixed precision of the fast path and the ceiling (fp16 or bf16; ignored on the CPU)
         skip:str='', # runs to skip, space separated: std fast ceiling
         compile:bool=False, # also time the ceiling with torch.compile (adds about a minute of compilation)
         pinned:bool=False, # also run the fast path from pinned CPU memory (a host->device copy per batch)
         stock:bool=True, # also run the fast data path with fastai's stock MixedPrecision and Recorder (b_fast_stock)
         sync_check:bool=True, # count host-device synchronisations per step after each timed fit (GPU only)
         ceiling_steps:int=300, # timed steps of the ceiling run (after ceiling_steps//5 warm-up steps)
         n_synthetic:int=2000, # number of synthetic faces when --data is not given
         workers:int=-1, # DataLoader workers of the standard pipeline (-1: fastai's default)
         cache_dir:str=None, # where the fast path's tensor cache lives (default: ~/.mtl_course/cache)
         seed:int=42, # split and training seed
         threads:int=0, # torch CPU threads (0: torch's default)
        ):
    "Time the standard pipeline, the fast path and the compute ceiling; write a table to `out`"
    if threads: torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = True
    a = AttrDict(arch=arch, size=size, bs=bs, epochs=epochs, lr=lr, seed=seed, ceiling_steps=ceiling_steps, amp=amp, sync_check=sync_check)
    skip = set(skip.split())
    path, df, _ = faces(data, n_synthetic, size)
    tasks = utkface_tasks()
    print(f"{machine()}\ndata: {path} ({len(df)} images); {arch} from scratch, {size} px, bs {bs}, {epochs} epochs", flush=True)
    dl_kw = dl_kwargs(workers)
    rows = []
    def attempt(name, f, *args, **kwargs):
        "Run one benchmark; a failure is printed and recorded, and the other runs still happen"
        try: rows.append(f(name, *args, **kwargs))
        except Exception as e:
            import traceback; traceback.print_exc()
            print(f"{name}: FAILED ({type(e).__name__}: {e})", flush=True)
            rows.append(dict(run=name, error=f"{type(e).__name__}: {e}"[:200]))
            reset_memory()
    fast = lambda **kw: lambda: fast_dls(df, path, tasks, size=size, bs=bs, aug_seed=seed, cache_dir=cache_dir, **kw)
    if 'std' not in skip:
        attempt('a_std', fit_run, lambda: mtl_dls(df, path, tasks, size=size, bs=bs, seed=seed, **dl_kw), tasks, a, amp_std, fast=False)
    if 'fast' not in skip:
        attempt('b_fast', fit_run, fast(), tasks, a, amp, fast=True)
        if stock: attempt('b_fast_stock', fit_run, fast(verbose=False), tasks, a, amp, fast=True, sync_free=False)
        if pinned: attempt('b_fast_pinned', fit_run, fast(max_frac=0., verbose=False), tasks, a, amp, fast=True)
    if 'ceiling' not in skip:
        attempt('c_ceiling', ceiling_run, tasks, a)
        if compile: attempt('c_ceiling_compiled', ceiling_run, tasks, a, compile=True)
    res = pd.DataFrame(rows)
    if 'img_s' not in res: res['img_s'] = float('nan')
    ips = {k: v for k, v in zip(res.run, res.img_s) if pd.notna(v)}
    ratios = {f"{x}/{y}": round(ips[x]/ips[y], 3) for x, y in [('b_fast', 'a_std'), ('b_fast', 'c_ceiling'), ('b_fast_stock', 'c_ceiling'), ('a_std', 'c_ceiling')]
              if x in ips and y in ips}
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out/'speed.csv', index=False)
    settings = f"{arch} from scratch, {size} px, batch {bs}, {epochs} epochs, fused AdamW, fit_one_cycle lr {lr}; {len(df)} images ({'synthetic' if not data else Path(data).name})"
    md = '\n'.join([f"**Machine:** {machine()}  ", f"**Settings:** {settings}  ",
                    "img_s: training images per second, excluding the first epoch when there are several; peak_gpu_gb: torch.cuda.max_memory_allocated.", '',
                    md_table(res), '', 'Ratios of img/s: ' + ', '.join(f"{k} = {v:.2f}" for k, v in ratios.items())])
    (out/'speed.md').write_text(md + '\n')
    print('\n' + md_table(res) + '\n')
    for k, v in ratios.items(): print(f"{k}: {v:.2f}")
    print(f"wrote {out/'speed.csv'} and {out/'speed.md'}")
    return res
