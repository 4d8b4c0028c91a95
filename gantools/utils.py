"""Notebook conveniences: one call at the top of a notebook that seeds every generator (and may set threads)."""
from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_all"]


def seed_all(seed: int = 0, *, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch's global generators for a notebook; return a fresh generator.

    Library functions in gantools never touch global state: they take a ``seed`` or a
    ``torch.Generator``. This helper is for the top of a notebook, where network
    initialisation uses torch's global generator. It can also set torch's intra-op thread
    count; by default it leaves torch's own choice (one thread per physical core). The book's
    seeds train side by side as batched matrix products, which torch shares out over the cores:
    on the 2-core CPU two threads ran the notebooks in 317 s against 371 s on one. Parts I-III
    print the same numbers on one thread as on two (their batched products are split by member,
    never inside one sum); Part IV's digit models differ in the last bits, which moves a few of
    its numbers (one seed's class count, a rank correlation) within what its claims allow.

    Parameters
    ----------
    seed : int
        Seed of :mod:`random`, :mod:`numpy.random`, torch's global generator and the
        returned generator.
    threads : int or None
        Passed to :func:`torch.set_num_threads`; ``None`` (default) leaves the thread count
        unchanged. The benchmark scripts use 1, so that their stored CPU times are per core.

    Returns
    -------
    torch.Generator
        A new generator seeded with ``seed``, for the notebook's own draws.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    g = torch.Generator()
    g.manual_seed(seed)
    return g
