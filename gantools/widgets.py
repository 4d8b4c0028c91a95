"""Deprecated: the explorers moved to :mod:`gantools.explorers` (one module per part).

The names of the first edition keep working here as thin wrappers; new code uses
``gantools.explorers.<part>.explorer()`` and ``run()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from matplotlib.figure import Figure

from .explorers import dirac as _dirac
from .explorers import ign as _ign
from .explorers import monoflow as _monoflow
from .explorers import sampler as _sampler

__all__ = ["dirac_explorer", "dirac_run", "plot_dirac_run", "energy_sampler_explorer", "energy_sampler_run",
           "monoflow_explorer", "monoflow_run", "ign_explorer", "ign_run", "plot_ign_orbit"]

dirac_explorer = _dirac.explorer
energy_sampler_explorer = _sampler.explorer
monoflow_explorer = _monoflow.explorer
ign_explorer = _ign.explorer
energy_sampler_run = _sampler.run


def dirac_run(variant: str = "wgan_gp", *, scheme: str = "rk4", **kw: Any) -> tuple[_dirac.DiracRun, torch.Tensor]:
    """:func:`gantools.explorers.dirac.run` (``scheme`` is its ``method``), with the EMA as a tensor."""
    r = _dirac.run(variant, method=scheme, **kw)
    return r, torch.from_numpy(r.ema)


def plot_dirac_run(tr: _dirac.DiracRun, avg: Any = None, *, title: str = "") -> Figure:
    """:func:`gantools.explorers.dirac.plot_run` on a new :func:`gantools.explorers.dirac.figure`."""
    return _dirac.plot_run(_dirac.figure(), tr, title)


def monoflow_run(h: str = "identity", **kw: Any) -> _monoflow.MonoFlowRun:
    """:func:`gantools.explorers.monoflow.run`."""
    return _monoflow.run(h, **kw)


@dataclass(frozen=True)
class IGNRun:
    """The trained network of :func:`ign_run`."""

    f: torch.nn.Module


def ign_run(*, lam_rec: float = 1.0, lam_idem: float = 1.0, lam_tight: float = 0.1, clamp: float | None = None,
            steps: int = _ign.STEPS, seed: int = 0, dataset: str = "8gaussians") -> IGNRun:
    """:func:`gantools.explorers.ign.train` for one setting, cached."""
    s = _ign.Setting(lam_rec, lam_idem, lam_tight, clamp, seed)
    return _ign_cached(s, int(steps), dataset)


@lru_cache(maxsize=32)
def _ign_cached(s: _ign.Setting, steps: int, dataset: str) -> IGNRun:
    return IGNRun(_ign.train([s], dataset=dataset, steps=steps).member(0))


def plot_ign_orbit(f: torch.nn.Module, n_apply: int = 3, *, dataset: str = "8gaussians",
                   n_points: int = _ign.N_POINTS) -> list:
    """:math:`f^k(z)`, :math:`k = 1..n`, one panel each; returns their mode statistics."""
    fig = Figure(figsize=(2.6 * n_apply, 2.7))
    pts = _ign.orbit(f, n_apply, n_points=n_points)
    out = []
    for k in range(1, n_apply + 1):
        ax = fig.add_subplot(1, n_apply, k)
        _ign.draw_axes(ax, dataset)
        out.append(_ign.plot_orbit(ax, pts[k], k, dataset=dataset))
    return out
