r"""Toy data sets: the 2-D mixtures and manifolds the book trains on, and the 8x8 digits.

The two mixtures follow Kumar et al. (2019), *Maximum Entropy Generators for
Energy-Based Models*:

* ``"25gaussians"`` -- 25 modes on the grid :math:`\{-4,-2,0,2,4\}^2`, standard
  deviation 0.05, everything divided by 2.828;
* ``"8gaussians"`` -- 8 modes on a circle of radius 2, standard deviation 0.02,
  everything divided by 1.414.

A mixture with centres :math:`c_1,\dots,c_K` (after scaling) and per-coordinate standard
deviation :math:`\sigma` (after scaling) is sampled as

.. math::

   x = c_I + \sigma\,\varepsilon, \qquad I \sim \mathrm{Uniform}\{1,\dots,K\},\quad
   \varepsilon \sim N(0, I_2).

``"swissroll"`` and ``"scurve"`` are continuous manifolds (scikit-learn's generators,
projected to 2-D and scaled to about unit spread); they have no modes.
:func:`digits` loads scikit-learn's bundled handwritten digits (no download).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._validate import check_int, check_name, make_generator

__all__ = ["TOY_DATASETS", "mode_centers", "mode_sigma", "sample", "digits"]

TOY_DATASETS: tuple[str, ...] = ("25gaussians", "8gaussians", "swissroll", "scurve")
"""Names accepted by :func:`sample`: two mixtures (with modes) and two manifolds."""

_MIXTURES = {
    # name: (centres before scaling, std before scaling, scale divisor)
    "25gaussians": ([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], 0.05, 2.828),
    "8gaussians": ([(2 * math.cos(k * math.pi / 4), 2 * math.sin(k * math.pi / 4)) for k in range(8)],
                   0.02, 1.414),
}


def mode_centers(name: str) -> torch.Tensor:
    r"""Centres of a mixture's modes, after the dataset's scaling.

    .. math::

       c_k = a_k / s,

    where :math:`a_k` are the centres before scaling (the grid :math:`\{-4,-2,0,2,4\}^2` or
    the circle of radius 2) and :math:`s` the dataset's divisor (2.828 or 1.414).

    Parameters
    ----------
    name : str
        A mixture: ``"25gaussians"`` or ``"8gaussians"``.

    Returns
    -------
    centres : torch.Tensor, shape (k, 2), float32
        One row per mode (:math:`k` = 25 or 8).

    Raises
    ------
    ValueError
        If ``name`` is not a mixture (the manifolds have no modes); the message lists the mixtures.
    """
    check_name(name, _MIXTURES, "mixture (datasets with modes)")
    centres, _, scale = _MIXTURES[name]
    return torch.tensor(centres, dtype=torch.float32) / scale


def mode_sigma(name: str) -> float:
    r"""Per-coordinate standard deviation of each mode, after the dataset's scaling.

    .. math::

       \sigma = \sigma_0 / s,

    with :math:`\sigma_0` the standard deviation before scaling (0.05 or 0.02) and :math:`s`
    the dataset's divisor (2.828 or 1.414).

    Parameters
    ----------
    name : str
        A mixture: ``"25gaussians"`` or ``"8gaussians"``.

    Returns
    -------
    sigma : float
        The standard deviation :math:`\sigma` of every coordinate of every mode.

    Raises
    ------
    ValueError
        If ``name`` is not a mixture; the message lists the mixtures.
    """
    check_name(name, _MIXTURES, "mixture (datasets with modes)")
    _, std, scale = _MIXTURES[name]
    return std / scale


def sample(name: str, n: int, *, seed: int | torch.Generator | None = None) -> torch.Tensor:
    r"""Draw ``n`` points of a toy dataset.

    For a mixture, each point is :math:`x = c_I + \sigma\varepsilon` with a uniform mode index
    :math:`I` and :math:`\varepsilon\sim N(0, I_2)` (centres :func:`mode_centers`, standard
    deviation :func:`mode_sigma`); the manifolds come from scikit-learn's generators, seeded
    from the same torch generator.

    Parameters
    ----------
    name : str
        One of :data:`TOY_DATASETS`.
    n : int
        Number of points, at least 1.
    seed : int, torch.Generator or None
        Source of randomness; the same int gives the same points, a generator is advanced,
        ``None`` draws fresh entropy.

    Returns
    -------
    x : torch.Tensor, shape (n, 2), float32
        The points.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists :data:`TOY_DATASETS`) or ``n < 1``.
    TypeError
        If ``n`` is not an int or ``seed`` is neither an int, a generator nor ``None``.
    """
    check_name(name, TOY_DATASETS, "toy dataset")
    check_int(n, "n")
    gen = make_generator(seed)
    if name in _MIXTURES:
        centres = mode_centers(name)
        idx = torch.randint(len(centres), (n,), generator=gen)
        noise = torch.randn(n, 2, generator=gen) * mode_sigma(name)
        return centres[idx] + noise
    # scikit-learn's manifold generators take a numpy seed; draw one from the torch generator
    from sklearn.datasets import make_s_curve, make_swiss_roll

    np_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen).item())
    if name == "swissroll":
        pts, _ = make_swiss_roll(n, noise=0.25, random_state=np_seed)
        xy = pts[:, [0, 2]] / 7.5
    else:  # scurve
        pts, _ = make_s_curve(n, noise=0.05, random_state=np_seed)
        xy = pts[:, [0, 2]] / 1.0
    return torch.from_numpy(np.ascontiguousarray(xy)).float()


def digits(*, seed: int | torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""scikit-learn's bundled 8x8 handwritten digits (1797 images, no download), scaled to [-1, 1].

    Pixel intensities :math:`v\in\{0,\dots,16\}` become

    .. math::

       x = v/8 - 1 \in [-1, 1],

    so the background is :math:`-1` and full ink is :math:`+1`. Images are returned flattened
    (row-major, 8 pixels per row).

    Parameters
    ----------
    seed : int, torch.Generator or None
        ``None`` keeps scikit-learn's order; otherwise the rows are shuffled by this seed.

    Returns
    -------
    images : torch.Tensor, shape (1797, 64), float32
        The flattened images, values in :math:`[-1, 1]`.
    labels : torch.Tensor, shape (1797,), int64
        The digit (0 to 9) of each image.

    Raises
    ------
    TypeError
        If ``seed`` is neither an int, a generator nor ``None``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.data.astype(np.float32)) / 8.0 - 1.0
    y = torch.from_numpy(bunch.target.astype(np.int64))
    if seed is not None:
        perm = torch.randperm(len(x), generator=make_generator(seed))
        x, y = x[perm], y[perm]
    return x, y
