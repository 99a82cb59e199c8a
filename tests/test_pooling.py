"""Data-parallel training optimises exactly what one device does with the whole batch: two CPU processes
(gloo) with half the crops each against one process with all of them."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

ROOT = Path(__file__).resolve().parent.parent
CROPS, SEEDS = 4, [11, 12, 13, 14]


def _module():
    from texnet.descriptors import DescriptorConfig
    from texnet.frontends import FrontendConfig
    from texnet.generators import GeneratorConfig
    from texnet.loss import ObjectiveConfig
    from texnet.module import TextureModule

    # every pooled term: two resolutions of descriptor statistics, the long-term spectrum, the auditory
    # statistics, the tone guard; a generator centred by the batch's mean frame (the one centring that couples the items;
    # the default local mean is per item)
    return TextureModule(FrontendConfig(n_fft=256, hop_length=64),
                         DescriptorConfig(n_filters=16, kernel_sizes=[5]),
                         ObjectiveConfig(resolutions=[128, 512], auditory_segment_s=0.2),
                         GeneratorConfig(channels=8, dilations=[1, 2], noise_channels=2, noise_scales=2,
                                         center_window=0))


def _batch():
    from texnet.audio import load_audio

    wave = load_audio(ROOT / "data" / "rain.ogg", 22050)
    crops = torch.stack([wave[i * 20000: i * 20000 + 16384] for i in range(CROPS)])
    return wave[:66150], crops


def _step(module, crops, seeds):
    """One step's loss and gradients, as training_step takes them."""
    module.generator.zero_grad()
    terms = module._step_losses(crops, seeds)
    terms.total.mean().backward()
    return terms, [p.grad.detach().clone() for p in module.generator.parameters()]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        module = _module()
        target, crops = _batch()
        module.set_targets([target])
        b = CROPS // world
        terms, grads = _step(module, crops[rank * b:(rank + 1) * b], SEEDS[rank * b:(rank + 1) * b])
        for g in grads:  # what DDP does with the ranks' gradients
            dist.all_reduce(g)
            g /= world
        if rank == 0:
            torch.save({"total": terms.total.detach(), "style": terms.style.detach(), "grads": grads,
                        "mean_frame": module.generator.mean_frame.clone()}, out)
        dist.barrier()  # neither rank closes its connections while the other still uses them
    finally:
        dist.destroy_process_group()


def _spawn_twice(worker, world: int, out: Path) -> None:
    """Run the ranks; once more on a fresh port if a process died (a gloo connection torn down under a
    loaded machine aborted a rank in two of about twenty runs here), never on a wrong result."""
    try:
        mp.spawn(worker, args=(world, _free_port(), str(out)), nprocs=world, join=True)
    except mp.ProcessExitedException:
        mp.spawn(worker, args=(world, _free_port(), str(out)), nprocs=world, join=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")
def test_two_ranks_with_half_the_crops_each_take_the_one_device_step(tmp_path):
    out = tmp_path / "ranks.pt"
    _spawn_twice(_worker, 2, out)
    ranks = torch.load(out, weights_only=True)

    module = _module()
    target, crops = _batch()
    module.set_targets([target])
    terms, grads = _step(module, crops, SEEDS)
    assert terms.style.shape == (1,)
    torch.testing.assert_close(ranks["style"], terms.style, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ranks["total"].mean(), terms.total.mean(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ranks["mean_frame"], module.generator.mean_frame, rtol=1e-4, atol=1e-7)
    for a, b in zip(ranks["grads"], grads):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-6)
    # and it is not what each rank alone would take: half the crops' statistics differ from the whole's
    alone, _ = _step(_with_targets(target), crops[:2], SEEDS[:2])
    assert abs(alone.style.item() - terms.style.item()) > 1e-3 * terms.style.item()


def _with_targets(target):
    module = _module()
    module.set_targets([target])
    return module


def test_lightning_ddp_on_two_cpu_processes_ends_where_one_process_with_the_doubled_batch_does(tmp_path):
    """train.py with Lightning's DDP (2 CPU processes, gloo, 2 crops each) against one process with 4 crops:
    the same weights after a few steps, to float rounding (another batch gives a different generator)."""
    import subprocess
    import sys

    common = ["train.py", "--config", "configs/tiny.yaml", "--wandb", "off", "--compare.enabled", "false",
              "--model.generator.kind", "waveform", "--model.frontend.scale", "power",
              "--model.objective.resolutions", "[128, 512]", "--trainer.accelerator", "cpu", "--trainer.max_steps", "4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = {"ddp": ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--data.batch_size", "2"],
            "one": ["--data.batch_size", "4"], "half": ["--data.batch_size", "2"]}
    weights = {}
    for name, extra in runs.items():
        for attempt in range(2 if name == "ddp" else 1):  # see _spawn_twice: a rank may die under load
            r = subprocess.run([sys.executable, *common, "--out", str(tmp_path / f"{name}{attempt}"), *extra],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            if r.returncode == 0:
                break
        assert r.returncode == 0, r.stderr[-3000:]
        (tmp_path / f"{name}{attempt}").rename(tmp_path / name)
        ckpt = torch.load(tmp_path / name / "last.ckpt", weights_only=True)
        assert ckpt["global_step"] == 4
        weights[name] = ckpt["state_dict"]

    def rel(a, b):
        return max(float((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-12)) for k in b)

    assert rel(weights["ddp"], weights["one"]) < 1e-3
    assert rel(weights["half"], weights["one"]) > 0.05
