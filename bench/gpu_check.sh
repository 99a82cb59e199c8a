#!/usr/bin/env bash
# GPU checks for the generator trainer (run on a machine with a CUDA GPU from the repo root):
# throughput per precision, a short bf16 training run through train.py, and generation from it.
set -uo pipefail
OUT=${OUT:-/tmp/texnet_gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
nvidia-smi -L
python3 -c "import torch, torchaudio, pytorch_lightning as pl; print('torch', torch.__version__, 'torchaudio', torchaudio.__version__, 'lightning', pl.__version__, 'cuda', torch.cuda.is_available())"
python3 bench/bench_training.py --config configs/quickstart.yaml --steps 300 --precision 32-true bf16-mixed 16-mixed 2>&1 | grep -v -i warn
python3 bench/bench_training.py --config configs/quickstart.yaml --steps 60 --accelerator cpu --precision 32-true 2>&1 | grep -v -i warn | grep precision
/usr/bin/time -v python3 train.py --config configs/quickstart.yaml --out "$OUT/run" --wandb off --trainer.precision bf16-mixed \
    --trainer.max_steps 1000 --trainer.enable_progress_bar false --compare.time_budget 30 2>&1 | grep -E "Elapsed|Maximum resident|generator vs baseline|Error|error" 
cat "$OUT/run/comparison.json"
python3 synthesize.py generate --ckpt "$OUT/run/last.ckpt" --seconds 60 --out "$OUT/gen60.wav" --overwrite
