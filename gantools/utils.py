"""Notebook conveniences: one call at the top of a notebook that seeds every generator and sets threads."""
from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_all"]


def seed_all(seed: int = 0, *, threads: int | None = 1) -> torch.Generator:
    """Seed Python, NumPy and torch's global generators for a notebook; return a fresh generator.

    Library functions in gantools never touch global state: they take a ``seed`` or a
    ``torch.Generator``. This helper is for the top of a notebook, where network
    initialisation uses torch's global generator. It also sets torch's intra-op thread count
    (``threads=1`` by default: the book's networks are tiny, and one thread avoids the
    synchronisation overhead that makes them slower on several; ``None`` leaves it alone).

    Parameters
    ----------
    seed : int
        Seed of :mod:`random`, :mod:`numpy.random`, torch's global generator and the
        returned generator.
    threads : int or None
        Passed to :func:`torch.set_num_threads`; ``None`` leaves the thread count unchanged.

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
