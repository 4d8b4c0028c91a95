"""Interactive explorers, one per part, each with the fast model it runs and a static twin.

==================  =====================================================================
module              explorer
==================  =====================================================================
``dirac``           Part I: the Dirac GAN (variant, λ, c, L2, EMA, learning rate, update rule)
``sampler``         Part II: Langevin and MALA on a 2-D energy (step, steps, temperature)
``monoflow``        Part III: MonoFlow's Gaussian toy (h, ε, D and G steps, generator loss)
``ign``             Part IV: a 2-D IGN (its three weights, the clamp, repeated application)
==================  =====================================================================

Each module has ``explorer()`` (the ipywidgets container whose controls redraw the figure),
``run(...)`` (the model, cached), ``figure()`` and ``update(fig, **values)``: the book's static
figures are drawn by the same functions. All four share :mod:`gantools.explorers.live`, where
the container :class:`~gantools.explorers.live.Explorer` is defined (the four modules are
imported with the package).
"""
from __future__ import annotations

from typing import Callable

from . import dirac, ign, monoflow, sampler
from .live import Explorer

__all__ = ["EXPLORERS"]

#: Name -> ``explorer`` function (each returns an :class:`~gantools.explorers.live.Explorer`),
#: in the book's order.
EXPLORERS: dict[str, Callable[[], Explorer]] = {
    "dirac": dirac.explorer,
    "sampler": sampler.explorer,
    "monoflow": monoflow.explorer,
    "ign": ign.explorer,
}
