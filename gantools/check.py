r"""Check cells: a claim, the condition that decides it, and the values that were measured.

Every check cell of the book calls :func:`claim` instead of a bare ``assert``. A claim that
holds prints one line for the reader (``✓ claim — measured values``) and is recorded in the
ledger; a claim that fails raises :class:`ClaimError` with the claim and the measured values, so
that ``pytest --nbval`` and the book build both stop there.

The rendered book collects every claim into its *Claims* page (``tools/claims_ledger.py``
reads the marker that :func:`claim` puts into the cell's HTML output). Keys of ``measured``
named ``tol``, ``bound``, ``limit`` or starting with ``tol_`` are listed as the tolerance.

Examples
--------
>>> from gantools.check import claim
>>> err = 3e-7
>>> claim("the two gradients agree", err < 1e-6, max_abs_error=err, tol=1e-6)  # doctest: +SKIP
✓ the two gradients agree — max_abs_error=3e-07; tol=1e-06
"""
from __future__ import annotations

import html
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Claim", "ClaimError", "LEDGER", "claim", "format_value", "is_tolerance_key"]

_TOL_NAMES = ("tol", "bound", "limit", "threshold")


class ClaimError(AssertionError):
    """A claim of the book did not hold; the message gives the claim and the measured values."""


@dataclass(frozen=True)
class Claim:
    """One checked claim: its text, the measured values and the tolerance values.

    Attributes
    ----------
    text : str
        The claim in words, as the reader sees it.
    measured : dict[str, str]
        The measured values, formatted (name -> value).
    tolerance : dict[str, str]
        The tolerances or bounds the condition used, formatted (name -> value).
    """

    text: str
    measured: dict[str, str] = field(default_factory=dict)
    tolerance: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """The one-line summary printed under a check cell."""
        parts = []
        if self.measured:
            parts.append(", ".join(f"{k}={v}" for k, v in self.measured.items()))
        if self.tolerance:
            parts.append(", ".join(f"{k}={v}" for k, v in self.tolerance.items()))
        return f"✓ {self.text}" + (f" — {'; '.join(parts)}" if parts else "")


#: Every claim that held in this Python session, in order (a notebook's kernel holds its own).
LEDGER: list[Claim] = []


def is_tolerance_key(name: str) -> bool:
    """Whether a keyword of :func:`claim` names a tolerance rather than a measured value.

    Parameters
    ----------
    name : str
        A keyword passed to :func:`claim`.

    Returns
    -------
    bool
        ``True`` for ``tol``, ``bound``, ``limit``, ``threshold`` and names starting ``tol_``.
    """
    return name in _TOL_NAMES or name.startswith("tol_")


def format_value(value: Any, digits: int = 4) -> str:
    """Format a measured value for the ledger: numbers to ``digits`` significant figures.

    Parameters
    ----------
    value : Any
        A Python or NumPy number, a bool, a string, a one-element or small tensor/array, or a
        sequence of these.
    digits : int
        Significant figures for floats.

    Returns
    -------
    str
        The formatted value.
    """
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu()
        value = value.item() if value.numel() == 1 else value.tolist()
    elif hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
        value = value.tolist()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.{digits}g}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(format_value(v, digits) for v in value)
        return f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v, digits)}" for k, v in value.items()) + "}"
    return str(value)


def _as_bool(ok: Any) -> bool:
    if hasattr(ok, "numel"):
        if ok.numel() != 1:
            raise ValueError(f"claim: the condition must be one truth value, got a tensor of shape {tuple(ok.shape)}; "
                             "reduce it with .all() or .any()")
        return bool(ok.item())
    if hasattr(ok, "size") and hasattr(ok, "item") and not isinstance(ok, (bool, int)):
        if ok.size != 1:
            raise ValueError(f"claim: the condition must be one truth value, got an array of shape {ok.shape}; "
                             "reduce it with .all() or .any()")
        return bool(ok.item())
    if not isinstance(ok, (bool, int)):
        raise TypeError(f"claim: the condition must be a bool, got {type(ok).__name__}")
    return bool(ok)


class _Display:
    """What a check cell shows: plain text in a console, a marked-up line in HTML."""

    def __init__(self, c: Claim) -> None:
        self.claim = c

    def __repr__(self) -> str:
        return self.claim.line()

    def _repr_html_(self) -> str:
        data = json.dumps({"text": self.claim.text, "measured": self.claim.measured,
                           "tolerance": self.claim.tolerance}, ensure_ascii=False)
        return (f'<div class="gantools-claim" data-claim="{html.escape(data, quote=True)}">'
                f'{html.escape(self.claim.line())}</div>')


def claim(text: str, ok: Any, **measured: Any) -> Claim:
    """Check one claim of the book and record it.

    Parameters
    ----------
    text : str
        The claim in words (what holds, not what is computed).
    ok : bool
        The condition that decides it: a bool, or a one-element tensor or array.
    **measured : Any
        The values that were measured, and the tolerances used (keys ``tol``, ``bound``,
        ``limit``, ``threshold`` or ``tol_*``). They are printed and recorded.

    Returns
    -------
    Claim
        The recorded claim (also appended to :data:`LEDGER`).

    Raises
    ------
    ClaimError
        If ``ok`` is false; the message holds the claim and every measured value.
    ValueError
        If ``text`` is empty or ``ok`` is a tensor with more than one element.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("claim: the claim text must be a non-empty string")
    holds = _as_bool(ok)
    meas = {k: format_value(v) for k, v in measured.items() if not is_tolerance_key(k)}
    tol = {k: format_value(v) for k, v in measured.items() if is_tolerance_key(k)}
    c = Claim(text.strip(), meas, tol)
    if not holds:
        vals = "; ".join(f"{k}={v}" for k, v in {**meas, **tol}.items()) or "no values given"
        raise ClaimError(f"claim failed: {c.text} — measured: {vals}")
    LEDGER.append(c)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of the book, not of gantools
        print(c.line())
        return c
    if get_ipython() is not None:
        display(_Display(c))
    else:
        print(c.line())
    return c
