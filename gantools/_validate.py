"""Input checks shared by every gantools module.

Each helper raises a ``ValueError`` (or ``TypeError``) whose message says what was
expected, so that bad input fails at the call site, not deep inside torch. The module is
private: its helpers are documented for the package's authors, not the reader.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch

__all__ = ["check_name", "as_tensor", "check_finite", "check_points", "check_positive",
           "check_int", "make_generator", "shape_str"]


def check_name(name: Any, valid: Iterable[str], what: str) -> str:
    """Return ``name`` if it is one of ``valid``; otherwise raise ``ValueError`` listing them.

    Parameters
    ----------
    name : object
        The name to check.
    valid : iterable of str
        The accepted names (the keys of a dict work).
    what : str
        What the name names, for the message (e.g. ``"GAN loss"``).

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    ValueError
        If ``name`` is not a string among ``valid``; the message lists the valid names.
    """
    valid = tuple(valid)
    if not isinstance(name, str) or name not in valid:
        raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(map(repr, valid))}")
    return name


def as_tensor(x: Any, name: str, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert an array-like to a floating tensor of ``dtype``, rejecting non-numeric input.

    Parameters
    ----------
    x : array-like or torch.Tensor, any shape
        The values.
    name : str
        The argument's name, for the message.
    dtype : torch.dtype
        Target dtype.

    Returns
    -------
    torch.Tensor, same shape as ``x``
        ``x`` as a tensor of ``dtype``.

    Raises
    ------
    TypeError
        If ``x`` is complex, boolean or not numeric.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"{name} must be a real floating tensor, got dtype {x.dtype}")
        return x.to(dtype)
    try:
        return torch.as_tensor(x, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(x).__name__}") from err


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or infinity.

    Parameters
    ----------
    x : torch.Tensor, any shape
        The values.
    name : str
        The argument's name, for the message.

    Returns
    -------
    torch.Tensor, same shape as ``x``
        ``x`` itself.

    Raises
    ------
    ValueError
        If an entry is NaN or infinite; the message counts them.
    """
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"{name} must be finite; it holds {bad} NaN/inf entries")
    return x


def check_points(x: Any, name: str, *, dim: int | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""A finite ``(n, d)`` point set (``d == dim`` when given) as a tensor.

    Parameters
    ----------
    x : array-like, shape (n, d)
        The points.
    name : str
        The argument's name, for the message.
    dim : int or None
        Required dimension :math:`d`; ``None`` accepts any.
    dtype : torch.dtype
        Target dtype.

    Returns
    -------
    torch.Tensor, shape (n, d)
        The points, with :math:`n \ge 1`.

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` is not finite, not two-dimensional, has the wrong ``d`` or no rows.
    """
    t = check_finite(as_tensor(x, name, dtype=dtype), name)
    if t.ndim != 2 or (dim is not None and t.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one point")
    return t


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """A positive (or non-negative) finite real number.

    Parameters
    ----------
    value : object
        The number.
    name : str
        The argument's name, for the message.
    allow_zero : bool
        Accept 0 as well.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite, negative, or zero without ``allow_zero``.
    """
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a real number, got {value!r}") from err
    ok = v >= 0 if allow_zero else v > 0
    if not (ok and v == v and v != float("inf")):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rel}, got {value!r}")
    return v


def check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer at least ``minimum``.

    Parameters
    ----------
    value : object
        The integer (``bool`` is refused).
    name : str
        The argument's name, for the message.
    minimum : int
        Smallest accepted value.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not an ``int``.
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A ``torch.Generator`` from an int seed, an existing generator, or ``None`` (fresh entropy).

    Parameters
    ----------
    seed : int, torch.Generator or None
        An int seeds a new generator; a generator is returned as is (and so advanced by its
        user); ``None`` seeds a new generator from fresh entropy.

    Returns
    -------
    torch.Generator

    Raises
    ------
    TypeError
        If ``seed`` is of another type (``bool`` included).
    """
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    if seed is None:
        g.seed()
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, a torch.Generator or None, got {type(seed).__name__}")
    else:
        g.manual_seed(seed)
    return g


def shape_str(shape: Sequence[int]) -> str:
    """A shape as text, e.g. ``(3, 2)``, for error messages.

    Parameters
    ----------
    shape : sequence of int
        The sizes.

    Returns
    -------
    str
    """
    return "(" + ", ".join(str(s) for s in shape) + ")"
