"""Statistics pooled over a whole batch, also when the batch is split over the ranks of a distributed run.

A generator is trained on the statistics of all its crops side by side. Under data parallelism (Lightning's
DDP) each rank holds only its share of the crops, so the statistics are built from sums that are added up
over the ranks with a differentiable all-reduce: every rank then computes the loss of the global batch. Its
gradient reaches each rank's crops once per rank (the all-reduce's backward sums the ranks' identical
upstream gradients) and DDP averages the ranks' gradients, so N ranks with B crops each take exactly the
step one device takes with N * B crops.
"""
from __future__ import annotations

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
