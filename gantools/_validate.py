"""Input checks shared by every gantools module.

Each helper raises a ``ValueError`` (or ``TypeError``) whose message says what was
expected, so that bad input fails at the call site, not deep inside torch.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch


def check_name(name: Any, valid: Iterable[str], what: str) -> str:
    """Return ``name`` if it is one of ``valid``; otherwise raise ``ValueError`` listing them."""
    valid = tuple(valid)
    if not isinstance(name, str) or name not in valid:
        raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(map(repr, valid))}")
    return name


def as_tensor(x: Any, name: str, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert an array-like to a floating tensor of ``dtype``, rejecting non-numeric input."""
    if isinstance(x, torch.Tensor):
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"{name} must be a real floating tensor, got dtype {x.dtype}")
        return x.to(dtype)
    try:
        return torch.as_tensor(x, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(x).__name__}") from err


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or infinity."""
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"{name} must be finite; it holds {bad} NaN/inf entries")
    return x


def check_points(x: Any, name: str, *, dim: int | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A finite ``(n, d)`` point set (``d == dim`` when given) as a tensor."""
    t = check_finite(as_tensor(x, name, dtype=dtype), name)
    if t.ndim != 2 or (dim is not None and t.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one point")
    return t


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """A positive (or non-negative) finite real number."""
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
    """An integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A ``torch.Generator`` from an int seed, an existing generator, or ``None`` (fresh entropy)."""
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
    return "(" + ", ".join(str(s) for s in shape) + ")"
