"""ipywidgets explorers, one per part, each paired with a static figure for the rendered book.

Each explorer is a function that returns an ``ipywidgets`` container; the drawing is done by a
plain function (usable without widgets) so that the book can show the same figure statically.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import torch

from . import dirac
from ._validate import check_name, check_positive
from .plot import COLORS, VARIANT_COLORS


# --------------------------------------------------------------------------- Part I: Dirac GAN
def dirac_run(variant: str = "wgan_gp", *, lam: float = 0.1, c: float = 0.0, l2: float = 0.0,
              ema_decay: float = 0.99, lr: float = 0.05, scheme: str = "rk4", t_end: float = 100.0,
              phi0: tuple[float, float] = (0.1, 0.2), theta0: tuple[float, float] = (0.2, 0.1)
              ) -> tuple[dirac.Trajectory, torch.Tensor]:
    """Simulate one Dirac GAN run and the EMA of its generator (the explorer's model).

    ``scheme`` is a :data:`gantools.dirac.METHODS` entry; ``lr`` is the ODE step for ``rk4``/
    ``euler`` and the learning rate for the GD schemes. ``lam``/``c`` are ignored by variants
    that do not use them. Returns the trajectory and the EMA of :math:`\\theta` over steps.
    """
    check_name(variant, dirac.VARIANTS, "Dirac GAN variant")
    hp: dict[str, float] = {}
    if "lam" in dirac.DEFAULT_HPARAMS[variant]:
        hp["lam"] = lam
    if "c" in dirac.DEFAULT_HPARAMS[variant]:
        hp["c"] = c
    if l2 > 0:
        hp["l2"] = l2
    lr = check_positive(lr, "lr")
    t_end = check_positive(t_end, "t_end")
    n = max(1, int(round(t_end / lr)))
    save = 1 if n <= 20000 else n // 20000  # EMA exact per step up to 20k steps
    field = "closed" if variant == "wgan" else "autograd"
    tr = dirac.simulate(variant, list(phi0), list(theta0), t_end=t_end, dt=lr, method=scheme,
                        save_every=save, field=field, **hp)
    # EMA over optimisation steps; with save_every > 1 the decay is applied per stored step
    avg = dirac.ema(tr.theta, ema_decay ** save)
    return tr, avg


def plot_dirac_run(tr: dirac.Trajectory, avg: torch.Tensor, *, title: str = "") -> plt.Figure:
    """Two panels: the path of :math:`\\theta` with its EMA, and :math:`\\lVert\\theta\\rVert` over time."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    th = tr.theta.numpy()
    a1.plot(th[:, 0], th[:, 1], lw=0.8, color=COLORS["fake"], label=r"$\theta(t)$")
    a1.plot(avg[:, 0].numpy(), avg[:, 1].numpy(), lw=1.2, color=COLORS["ema"], label=r"EMA of $\theta$")
    a1.plot(th[0, 0], th[0, 1], "o", color=COLORS["fake"], ms=4)
    a1.plot(0, 0, "*", ms=12, color=COLORS["real"], label="equilibrium")
    a1.set_aspect("equal")
    a1.set_xlabel(r"$\theta_1$")
    a1.set_ylabel(r"$\theta_2$")
    a1.legend(fontsize=8, loc="upper right")
    a2.semilogy(tr.t.numpy(), tr.radius.clamp_min(1e-16).numpy(), color=COLORS["fake"], label=r"$\|\theta\|$")
    a2.semilogy(tr.t.numpy(), torch.linalg.vector_norm(avg, dim=-1).clamp_min(1e-16).numpy(),
                color=COLORS["ema"], label=r"$\|$EMA$\|$")
    a2.set_xlabel("time $t$ (steps x learning rate)")
    a2.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def dirac_explorer() -> Any:
    """Interactive Dirac GAN: variant, lambda, c, L2, EMA decay, learning rate, scheme, start point."""
    import ipywidgets as W
    from IPython.display import display

    style = {"description_width": "90px"}
    ctl = {
        "variant": W.Dropdown(options=list(dirac.VARIANTS), value="wgan_gp", description="variant", style=style),
        "scheme": W.Dropdown(options=list(dirac.METHODS), value="rk4", description="update", style=style),
        "lam": W.FloatLogSlider(value=0.1, base=10, min=-2, max=1, description="lambda", style=style),
        "c": W.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="c (WGAN-GP)", style=style),
        "l2": W.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="L2 on D", style=style),
        "ema_decay": W.SelectionSlider(options=[0.9, 0.99, 0.995, 0.999], value=0.99, description="EMA decay", style=style),
        "lr": W.FloatLogSlider(value=0.05, base=10, min=-3, max=0.5, description="step / lr", style=style),
        "t_end": W.FloatSlider(value=100.0, min=10.0, max=400.0, step=10.0, description="time", style=style),
        "th1": W.FloatSlider(value=0.2, min=-1, max=1, step=0.05, description="theta0[0]", style=style),
        "th2": W.FloatSlider(value=0.1, min=-1, max=1, step=0.05, description="theta0[1]", style=style),
        "ph1": W.FloatSlider(value=0.1, min=-1, max=1, step=0.05, description="phi0[0]", style=style),
        "ph2": W.FloatSlider(value=0.2, min=-1, max=1, step=0.05, description="phi0[1]", style=style),
    }
    out = W.Output()

    def redraw(_=None) -> None:
        v = {k: w.value for k, w in ctl.items()}
        with out:
            out.clear_output(wait=True)
            try:
                tr, avg = dirac_run(v["variant"], lam=v["lam"], c=v["c"], l2=v["l2"], ema_decay=v["ema_decay"],
                                    lr=v["lr"], scheme=v["scheme"], t_end=v["t_end"],
                                    phi0=(v["ph1"], v["ph2"]), theta0=(v["th1"], v["th2"]))
            except (ValueError, dirac.DivergenceError) as err:
                print(f"{type(err).__name__}: {err}")
                return
            fig = plot_dirac_run(tr, avg, title=f"{v['variant']}, {v['scheme']}")
            display(fig)
            plt.close(fig)

    for w in ctl.values():
        w.observe(redraw, names="value")
    redraw()
    keys = list(ctl)
    controls = W.HBox([W.VBox([ctl[k] for k in keys[:6]]), W.VBox([ctl[k] for k in keys[6:]])])
    return W.VBox([controls, out])
