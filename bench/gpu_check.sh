#!/usr/bin/env bash
# GPU checks (run from the repo root on a machine with a CUDA GPU): the main job through train.py on the
# GPU to its last checkpoint and comparison, then every synthesis command with --device cuda.
set -uo pipefail
OUT=${OUT:-/tmp/texnet_gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
nvidia-smi -L
python3 -c "import torch, torchaudio, pytorch_lightning as pl; print('torch', torch.__version__, 'torchaudio', torchaudio.__version__, 'lightning', pl.__version__, 'cuda', torch.cuda.is_available())"
/usr/bin/time -v python3 train.py --config configs/quickstart_waveform.yaml --data.holdout 0.5 --out "$OUT/run" --wandb off --overwrite \
    --trainer.enable_progress_bar false 2>&1 | grep -E "Elapsed|Maximum resident|generator vs baseline|rror"
python3 -c "import torch; c = torch.load('$OUT/run/last.ckpt', weights_only=True); print('last.ckpt at step', c['global_step'])"
cat "$OUT/run/comparison.json"
python3 synthesize.py generate --ckpt "$OUT/run/last.ckpt" --device cuda --seconds 600 --out "$OUT/gen600.wav" --overwrite
python3 synthesize.py stream --ckpt "$OUT/run/last.ckpt" --device cuda --seconds 60 --quiet --out "$OUT/stream60.wav" --overwrite
python3 synthesize.py optimize --style data/rain.ogg --device cuda --seconds 10 --quiet --out "$OUT/baseline10.wav" --overwrite
python3 synthesize.py optimize --style data/rain.ogg --config configs/paper.yaml --device cuda --seconds 10 --quiet \
    --out "$OUT/paper10.wav" --overwrite
