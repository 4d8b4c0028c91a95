"""The one error type gantools raises for a run that blows up.

Every training loop, integrator and sampler in the package raises :class:`DivergenceError` when
its state becomes NaN or infinite, with a message naming the run and the step where it happened.
"""
from __future__ import annotations

__all__ = ["DivergenceError"]


class DivergenceError(RuntimeError):
    """A simulation, sampler or training run produced NaN or infinite values.

    The message says which run diverged and at which step, so that the reader can lower a step
    size or a learning rate there. It subclasses :class:`RuntimeError`.
    """
