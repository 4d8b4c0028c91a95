"""Conveniences: one call at the top of a notebook that seeds every generator and sets torch's
threads (:func:`seed_all`), and one optimiser step on a loss (:func:`descend`)."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["THREADS", "TORCH_THREADS", "seed_all", "descend"]

#: torch's own intra-op thread count, read when gantools is imported (one thread per physical
#: core, or ``OMP_NUM_THREADS`` where it is set): what ``threads=0`` restores.
TORCH_THREADS: int = torch.get_num_threads()


def _threads(value: int | str | None = None) -> int:
    """Check a thread setting: a whole number ``>= 0`` (``0`` means torch's own choice).

    Parameters
    ----------
    value : int or str or None
        The setting; a string (an environment variable's value) is read as an integer. ``None``
        reads the environment variable ``GANTOOLS_THREADS``, and gives 1 where it is unset or
        empty.

    Returns
    -------
    int
        The number of intra-op threads, or 0 for torch's own choice.

    Raises
    ------
    ValueError
        If the value is not a whole number ``>= 0``.
    """
    if value is None:
        value = os.environ.get("GANTOOLS_THREADS", "").strip() or 1
    try:
        n = int(value)
        ok = n >= 0 and not isinstance(value, bool) and (isinstance(value, str) or n == value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"threads must be a whole number >= 0 (0 = torch's own choice, "
                         f"{TORCH_THREADS} here), got {value!r}")
    return n


#: The thread count :func:`seed_all` sets when it is not given one: the environment variable
#: ``GANTOOLS_THREADS`` where it is set, else 1. Change it before the first cell runs
#: (``export GANTOOLS_THREADS=2``) or in a notebook (``gantools.utils.THREADS = 2``) before
#: calling :func:`seed_all`; ``0`` leaves torch's own choice (:data:`TORCH_THREADS`).
THREADS: int = _threads()


def seed_all(seed: int = 0, *, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch's global generators for a notebook, set torch's threads, return a fresh generator.

    Library functions in gantools never touch global state: they take a ``seed`` or a
    ``torch.Generator``. This helper is for the top of a notebook, where network
    initialisation uses torch's global generator, and it sets torch's intra-op thread count.

    **Thread policy.** Every notebook runs on one thread unless the reader asks for more
    (:data:`THREADS`, the environment variable ``GANTOOLS_THREADS``, or ``threads=``). torch's
    own choice, one thread per physical core, wins little on a machine with nothing else to do,
    and loses a lot on a busy one: threads that wait on each other stall whenever another
    process holds a core, so a notebook run beside a second torch process (a second notebook
    open in JupyterLab, a test suite run in parallel, a shared CI machine) slows many times over,
    while a one-thread notebook shares the cores and slows little. Parts I-III print the same
    numbers on one thread as on more (their batched products are split by member, never inside
    one sum; ``tests/test_utils.py`` checks a small batched run of each); Part IV's digit models
    may differ in the last bits, which moves a few of its numbers (one seed's class count, a
    rank correlation) within what its claims allow.

    Parameters
    ----------
    seed : int
        Seed of :mod:`random`, :mod:`numpy.random`, torch's global generator and the
        returned generator.
    threads : int or None
        Intra-op threads for :func:`torch.set_num_threads`: a whole number ``>= 1``, or ``0`` for
        torch's own choice (:data:`TORCH_THREADS`). ``None`` (default) uses :data:`THREADS`
        (1 unless changed).

    Returns
    -------
    torch.Generator
        A new generator seeded with ``seed``, for the notebook's own draws.

    Raises
    ------
    ValueError
        If ``threads`` (or :data:`THREADS`) is not a whole number ``>= 0``.
    """
    n = _threads(THREADS if threads is None else threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(n or TORCH_THREADS)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def descend(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One step of ``opt`` on a scalar ``loss``: the gradients of its parameters, then ``opt.step()``.

    The same step as ``opt.zero_grad(set_to_none=True); loss.backward(); opt.step()`` (the same
    gradients, assigned to ``.grad``; a parameter the loss does not reach gets ``None`` and is
    skipped), without ``zero_grad``'s per-call hooks, which cost more than the arithmetic in the
    small steps of the book's toys.

    Parameters
    ----------
    opt : torch.optim.Optimizer
    loss : torch.Tensor
        A scalar with a graph to ``opt``'s parameters.

    Returns
    -------
    None
    """
    params = [p for group in opt.param_groups for p in group["params"]]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()
