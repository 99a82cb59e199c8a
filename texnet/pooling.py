"""Statistics pooled over a whole batch, also when the batch is split over the ranks of a distributed run.

A generator is trained on the statistics of all its crops side by side. Under data parallelism (Lightning's
DDP) each rank holds only its share of the crops, so the statistics are built from sums that are added up
over the ranks with a differentiable all-reduce: every rank then computes the loss of the global batch. Its
gradient reaches each rank's crops once per rank (the all-reduce's backward sums the ranks' identical
upstream gradients) and DDP averages the ranks' gradients, so N ranks with B crops each take exactly the
step one device takes with N * B crops.

Several style sources (multi-texture) are mixed the same way: their statistics averaged with weights.
"""
from __future__ import annotations

from typing import Sequence

import torch


def world_size() -> int:
    """Ranks of the running distributed job (1 outside one)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def all_sum(x: torch.Tensor) -> torch.Tensor:
    """``x`` summed over all ranks, differentiably (``x`` itself on one process)."""
    if world_size() == 1:
        return x
    import warnings

    from torch.distributed.nn.functional import all_reduce

    with warnings.catch_warnings():  # deprecated in favour of functional collectives, whose autograd is private
        warnings.simplefilter("ignore", FutureWarning)
        return all_reduce(x)


def pooled_sums(x: torch.Tensor, powers: int = 2, cross: bool = True) -> dict[str, torch.Tensor]:
    """Sufficient statistics of ``x`` ``(batch, channels, positions)`` over batch and positions, summed over
    all ranks in float64: ``n`` (count), ``s1 .. s<powers>`` ``(channels,)`` (sums of powers) and, with
    ``cross``, ``xx`` ``(channels, channels)`` (sum of outer products)."""
    x = x.double()
    sums = {"n": x.new_tensor(float(x.shape[0] * x.shape[-1]))}
    for p in range(1, powers + 1):
        sums[f"s{p}"] = x.pow(p).sum((0, 2))
    if cross:
        sums["xx"] = torch.einsum("bct,bdt->cd", x, x)
    return {k: all_sum(v) for k, v in sums.items()}


def time_mean(x: torch.Tensor, pooled: bool = False) -> torch.Tensor:
    """``x`` ``(batch, channels, positions)`` averaged over positions: ``(batch, channels)``; ``pooled``:
    over batch and positions, of every rank in a distributed run: ``(1, channels)``."""
    if not pooled:
        return x.mean(-1)
    if world_size() == 1:
        return x.mean((0, 2))[None]
    total = all_sum(x.double().sum((0, 2)))
    count = all_sum(x.new_tensor(float(x.shape[0] * x.shape[-1]), dtype=torch.float64))
    return (total / count).to(x.dtype)[None]


def normalised_weights(weights: Sequence[float] | None, n: int) -> torch.Tensor:
    """``(n,)`` mixing weights summing to 1 (equal for ``None``); non-negative with a positive sum."""
    if n == 0:
        raise ValueError("need at least one style source")
    w = torch.ones(n) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
    if w.numel() != n:
        raise ValueError(f"got {w.numel()} weights for {n} style sources: give one weight per source")
    if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"style weights must be finite and non-negative with a positive sum, got {w.tolist()}")
    return w / w.sum()


def mix_stats(stats: Sequence[Sequence[torch.Tensor]], weights: Sequence[float] | None) -> list[torch.Tensor]:
    """Weighted mean of several sources' per-layer statistics: ``stats[s][l]`` is source ``s``'s
    statistic (any shape) at layer ``l``."""
    w = normalised_weights(weights, len(stats))
    return [sum(w[s] * stats[s][l] for s in range(len(stats))) for l in range(len(stats[0]))]
