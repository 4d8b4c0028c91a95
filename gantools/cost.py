r"""What a training step costs: wall-clock time and floating-point operations.

The book compares methods at matched parameters and reports what is *not* matched (time and
arithmetic per step). The two measurements live here, in one place:

* :func:`median_seconds` and :func:`compare_seconds` time callables (medians, robust to a
  shared machine; the second interleaves the candidates so that load changes hit all alike);
* :func:`step_flops` counts the floating-point operations of one call with
  :class:`torch.utils.flop_counter.FlopCounterMode`;
* :func:`step_copies` counts the tensor copies of one call, which a FLOP count cannot see.

Parameters are counted by :func:`gantools.nets.n_params`.

A matrix product of an :math:`(m, k)` and a :math:`(k, n)` matrix counts :math:`2mkn`
operations (one multiply and one add per term); elementwise operations are not counted.
"""
from __future__ import annotations

import time
from typing import Callable

from ._validate import check_int

__all__ = ["compare_seconds", "median_seconds", "step_copies", "step_flops"]


def median_seconds(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` calls after ``warmup`` calls.

    The median is robust to the occasional slow call on a shared machine; compare only timings
    taken in the same process, one right after the other.

    Parameters
    ----------
    fn : callable
        Called with no arguments; its return value is ignored.
    repeat : int
        Number of timed calls (at least 1).
    warmup : int
        Untimed calls made first (at least 0).

    Returns
    -------
    float
        The median of the ``repeat`` timings, in seconds.
    """
    check_int(repeat, "repeat")
    check_int(warmup, "warmup", minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def compare_seconds(fns: dict[str, Callable[[], object]], *, repeat: int = 15,
                    warmup: int = 3) -> dict[str, float]:
    """Median wall-clock seconds of several callables, timed in interleaved rounds.

    Each round calls every function once, in order; interleaving makes the comparison fair when
    the machine's load changes during the measurement (a shared CPU).

    Parameters
    ----------
    fns : dict of str to callable
        The candidates, each called with no arguments.
    repeat : int
        Number of timed rounds.
    warmup : int
        Untimed rounds made first.

    Returns
    -------
    dict of str to float
        Name to median seconds per call.
    """
    check_int(repeat, "repeat")
    check_int(warmup, "warmup", minimum=0)
    if not fns:
        raise ValueError("compare_seconds needs at least one callable")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


class _TotalOnly:
    """Stands in for the module tracker of :class:`~torch.utils.flop_counter.FlopCounterMode`.

    Every operation is counted towards the total only (no per-module table). The tracker's
    backward hooks raise inside ``torch.autograd.grad``, i.e. in any step with a gradient
    penalty; the total does not need them.
    """

    parents = frozenset({"Global"})

    def __enter__(self) -> "_TotalOnly":
        return self

    def __exit__(self, *args: object) -> None:
        return None


def step_flops(step: Callable[[], object]) -> int:
    r"""Floating-point operations of one call of ``step`` (forward and backward).

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`: matrix multiplies
    (:math:`2mkn` for an :math:`(m,k)\times(k,n)` product, batched ones summed over the batch)
    and convolutions; elementwise work and optimiser updates are not counted. Steps that
    differentiate twice (a gradient penalty through ``torch.autograd.grad``) are counted too.

    Parameters
    ----------
    step : callable
        One training step, called once with no arguments.

    Returns
    -------
    int
        The operation count.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _TotalOnly()  # the per-module tracker's hooks reject torch.autograd.grad
    with counter:
        step()
    return int(counter.get_total_flops())


def step_copies(step: Callable[[], object]) -> tuple[int, int]:
    """The tensor copies one call of ``step`` dispatches: how many, and how many bytes.

    Copying memory is not arithmetic, so :func:`step_flops` cannot see it (``copy.deepcopy`` of a
    network costs no FLOPs). This counts every ``aten.clone`` and ``aten.copy_`` that reaches
    torch's dispatcher during the call, with the size of its result.

    Parameters
    ----------
    step : callable
        One training step, called once with no arguments.

    Returns
    -------
    tuple of int
        ``(copies, bytes)``: the number of tensors copied and their total size in bytes.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    copy_ops = (torch.ops.aten.clone.default, torch.ops.aten.copy_.default)
    counted = [0, 0]

    class _Copies(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            out = func(*args, **(kwargs or {}))
            if func in copy_ops:
                counted[0] += 1
                counted[1] += out.numel() * out.element_size()
            return out

    with _Copies():
        step()
    return counted[0], counted[1]
