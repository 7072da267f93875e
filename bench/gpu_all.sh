#!/usr/bin/env bash
# Every GPU measurement the notebooks quote, in one run: how the real-face numbers in chapters 2-5 and 7 are made on a GPU.
#   bash bench/gpu_all.sh UTKFACE_FOLDER OUT_FOLDER
# Needs the library importable (pip install -e . or PYTHONPATH=.) and, for meaningful numbers, a CUDA GPU.
# Each step has a time limit so a slow step cannot starve the others; the grids append to runs.csv as runs finish,
# so a grid cut off by its limit still reports the runs it finished. The variables below can be overridden, e.g.
# BIG=tiny_cnn SMALL=tiny_cnn SIZE=32 SMALL_SIZE=32 EPOCHS=1 SEEDS=0 SPEED_ARGS="--arch tiny_cnn --size 32 --bs 64 --epochs 1"
# for a smoke test on the CPU.
set -uo pipefail
D=${1:?UTKFace folder}; O=${2:?output folder}; mkdir -p "$O"
BIG=${BIG:-resnet34}; SIZE=${SIZE:-128}; BS=${BS:-128}; EPOCHS=${EPOCHS:-5}
SMALL=${SMALL:-resnet18}; SMALL_SIZE=${SMALL_SIZE:-64}; SEEDS=${SEEDS:-0 1 2}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
step() { local name=$1 limit=$2; shift 2; echo "=== $name (limit ${limit}s): $*"; local t0=$SECONDS
         timeout "$limit" "$@" > "$O/$name.log" 2>&1; local rc=$?
         grep -v -E '^\s*$|█|━|it/s\]' "$O/$name.log" | tail -${TAIL:-25}; echo "=== $name: rc $rc in $((SECONDS-t0)) s"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no GPU"
python3 -c "import torch, fastai, os; print('torch', torch.__version__, 'fastai', fastai.__version__, 'cpus', os.cpu_count())"
# 1. chapters 2-3: the main job on real faces (standard fastai pipeline, from scratch: no pretrained weights offline)
step compare ${LIMIT_COMPARE:-200} python3 -c "import sys; from mtl_course.cli import main; sys.exit(main(sys.argv[1:]))" \
     compare --data "$D" --out "$O/compare" --arch $BIG --scratch --epochs $EPOCHS --size $SIZE --bs $BS --lr 5e-3 --seed 42 --verify
# 2. chapter 7: standard pipeline vs fast path vs compute ceiling
step speed ${LIMIT_SPEED:-200} python3 bench/speed.py --data "$D" --out "$O/speed" ${SPEED_ARGS:-}
# 3. chapters 4 and 5, on faces pre-resized to 80 px (decoding 200 px JPEGs would dominate these small runs)
python3 bench/resize.py "$D" "$O/small" --max_size 80
# 3a. chapter 4's recipe grid: the recommended recipe, chosen on valid and scored on the fixed test split
step recipes ${LIMIT_RECIPES:-400} python3 bench/recipes.py --data "$O/small" --out "$O/recipes" --arch $SMALL --scratch \
     --size $SMALL_SIZE --bs $BS --epochs $EPOCHS --lr 5e-3 --seeds "$SEEDS" ${RECIPES_ARGS:-}
step weighting ${LIMIT_WEIGHTING:-240} python3 bench/weighting.py --data "$O/small" --out "$O/weighting" --arch $SMALL --scratch \
     --size $SMALL_SIZE --bs $BS --epochs $EPOCHS --lr 5e-3 --seeds "$SEEDS" --strategies "${STRATEGIES:-equal scaled uncertainty dwa gradnorm pcgrad alternating famo}" ${WEIGHTING_ARGS:-}
step affinity ${LIMIT_AFFINITY:-120} python3 bench/affinity.py --data "$O/small" --out "$O/affinity" --arch $SMALL --scratch \
     --size $SMALL_SIZE --bs $BS --epochs $EPOCHS --lr 5e-3 --seeds "${AFFINITY_SEEDS:-$SEEDS}" --strategy scaled \
     $([ -f "$O/weighting/runs.csv" ] && echo --singles_from "$O/weighting/runs.csv") ${AFFINITY_ARGS:-}
rm -rf "$O/small"
ls -R "$O" | head -40
