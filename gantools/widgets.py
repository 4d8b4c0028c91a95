"""ipywidgets explorers, one per part, each paired with a static figure for the rendered book.

Each explorer is a function that returns an ``ipywidgets`` container; the drawing is done by a
plain function (usable without widgets) so that the book can show the same figure statically.
"""
from __future__ import annotations

from typing import Any, Callable

import matplotlib.pyplot as plt
import torch

from . import dirac
from ._validate import check_name, check_positive
from .plot import COLORS, VARIANT_COLORS


def _live_figure(controls: dict[str, Any], make_figure: Callable[..., plt.Figure],
                 errors: tuple[type[BaseException], ...] = (ValueError, RuntimeError)) -> Any:
    """An output area that redraws ``make_figure(**values)`` whenever a control changes.

    Built on :func:`ipywidgets.interactive_output`; an expected error (bad settings, a run
    that diverges) is printed in place of the figure instead of breaking the explorer.
    """
    import ipywidgets as W
    from IPython.display import display

    def draw(**values: Any) -> None:
        try:
            fig = make_figure(**values)
        except errors as err:
            print(f"{type(err).__name__}: {err}")
            return
        display(fig)
        plt.close(fig)

    return W.interactive_output(draw, controls)


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

    def figure(variant, scheme, lam, c, l2, ema_decay, lr, t_end, th1, th2, ph1, ph2) -> plt.Figure:
        tr, avg = dirac_run(variant, lam=lam, c=c, l2=l2, ema_decay=ema_decay, lr=lr, scheme=scheme,
                            t_end=t_end, phi0=(ph1, ph2), theta0=(th1, th2))
        return plot_dirac_run(tr, avg, title=f"{variant}, {scheme}")

    out = _live_figure(ctl, figure, errors=(ValueError, dirac.DivergenceError))
    keys = list(ctl)
    controls = W.HBox([W.VBox([ctl[k] for k in keys[:6]]), W.VBox([ctl[k] for k in keys[6:]])])
    return W.VBox([controls, out])


# --------------------------------------------------------------------------- Part II: latent / energy samplers
def sampler_demo_energy():
    """The explorer's target: a normalised ring of 8 Gaussians (radius 1.5, sigma 0.2)."""
    import math

    from .energy import mixture_energy

    centres = torch.tensor([[1.5 * math.cos(k * math.pi / 4), 1.5 * math.sin(k * math.pi / 4)] for k in range(8)])
    return mixture_energy(centres, 0.2)


def energy_sampler_run(*, step: float = 0.05, n_steps: int = 100, temperature: float = 1.0,
                       use_mala: bool = True, n_chains: int = 1000, seed: int = 0,
                       energy=None, lim: float = 2.5) -> dict:
    r"""Run Langevin or MALA chains on ``energy`` (default :func:`sampler_demo_energy`) at a temperature.

    Chains start from :math:`N(0, I)`. Returns a dict with the final ``samples``, the ``path``
    ``(n_steps+1, n_chains, 2)``, the MALA ``acceptance`` (``None`` for Langevin), exact
    ``reference`` samples of :math:`e^{-U/T}` from the grid (:func:`gantools.energy.grid_sample`)
    and the squared ``mmd`` between the two (:func:`gantools.metrics.mmd`).
    """
    from . import mcmc
    from .energy import grid_sample
    from .metrics import mmd

    energy = sampler_demo_energy() if energy is None else energy
    temperature = check_positive(temperature, "temperature")
    z0 = torch.randn(n_chains, 2, generator=torch.Generator().manual_seed(seed))
    if use_mala:
        (x, path), acc = mcmc.mala(energy, z0, step=step, n_steps=n_steps, temperature=temperature,
                                   seed=seed + 1, return_path=True)
    else:
        x, path = mcmc.langevin(energy, z0, step=step, n_steps=n_steps, temperature=temperature,
                                seed=seed + 1, return_path=True)
        acc = None
    ref = grid_sample(lambda v: energy(v) / temperature, n_chains, lim, 128, seed=seed + 2)
    finite = torch.isfinite(x).all(1) & (x.abs() < 1e3).all(1)
    score = mmd(x[finite], ref) if finite.sum() > 1 else float("inf")
    return dict(samples=x, path=path, acceptance=acc, reference=ref, mmd=score, energy=energy,
                step=step, n_steps=n_steps, temperature=temperature, use_mala=use_mala, lim=lim)


def plot_energy_sampler(res: dict, ax: plt.Axes | None = None, *, n_paths: int = 5) -> plt.Axes:
    """Draw a run of :func:`energy_sampler_run`: energy contours, final samples, a few chain paths."""
    from .plot import contour_2d

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    lim = res["lim"]
    contour_2d(ax, res["energy"], lim=lim, n=100, levels=20)
    x = res["samples"]
    ax.scatter(x[:, 0], x[:, 1], s=2, c="w", alpha=0.6, linewidths=0)
    for i in range(min(n_paths, x.shape[0])):
        p = res["path"][:, i]
        ax.plot(p[:, 0], p[:, 1], lw=0.7, color=VARIANT_COLORS[i % len(VARIANT_COLORS)])
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    name = "MALA" if res["use_mala"] else "Langevin"
    acc = "" if res["acceptance"] is None else f", acc {res['acceptance']:.2f}"
    ax.set_title(f"{name}: eps={res['step']:g}, K={res['n_steps']}, T={res['temperature']:g}\n"
                 f"MMD$^2$ to exact {res['mmd']:.4f}{acc}", fontsize=8)
    return ax


def energy_sampler_explorer() -> Any:
    """Interactive Langevin / MALA on a 2-D energy: step size, number of steps, temperature, MALA on/off."""
    import ipywidgets as W

    style = {"description_width": "90px"}
    ctl = {
        "step": W.FloatLogSlider(value=0.05, base=10, min=-3, max=0.5, description="step eps", style=style),
        "n_steps": W.IntSlider(value=100, min=0, max=500, step=10, description="steps K", style=style),
        "temperature": W.FloatLogSlider(value=1.0, base=10, min=-1, max=0.5, description="temperature", style=style),
        "use_mala": W.Checkbox(value=True, description="MALA (Metropolis correction)"),
    }
    def figure(**values: Any) -> plt.Figure:
        res = energy_sampler_run(**values, n_chains=500)
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        plot_energy_sampler(res, ax)
        return fig

    out = _live_figure(ctl, figure)  # ValueError for bad settings, RuntimeError for a diverging chain
    return W.VBox([W.HBox([W.VBox([ctl["step"], ctl["n_steps"]]), W.VBox([ctl["temperature"], ctl["use_mala"]])]), out])


# --------------------------------------------------------------------------- Part IV: IGN
def ign_run(*, lam_rec: float = 1.0, lam_idem: float = 1.0, lam_tight: float = 0.1,
            clamp: float | None = None, steps: int = 600, seed: int = 0,
            dataset: str = "8gaussians"):
    r"""Train (or fetch from an in-memory cache) a small 2-D IGN, the explorer's model.

    :math:`f` is ``nets.mlp(2, 2, hidden=128, depth=3)`` initialised with ``seed``, trained by
    :func:`gantools.ign.train_ign` (Adam :math:`10^{-3}`, batch 256) on ``dataset`` with the
    given weights and clamp. Returns the :class:`gantools.ign.IGNRun`.
    """
    from .data import TOY_DATASETS

    check_name(dataset, TOY_DATASETS, "toy dataset")
    key = (float(lam_rec), float(lam_idem), float(lam_tight), None if clamp is None else float(clamp),
           int(steps), int(seed), dataset)
    return _ign_run_cached(*key)


def _ign_run_cached(lam_rec, lam_idem, lam_tight, clamp, steps, seed, dataset):
    cache = _IGN_CACHE
    if (lam_rec, lam_idem, lam_tight, clamp, steps, seed, dataset) not in cache:
        from . import data, ign, nets

        with torch.random.fork_rng():
            torch.manual_seed(seed)
            f = nets.mlp(2, 2, hidden=128, depth=3)
        run = ign.train_ign(f, lambda n, g: data.sample(dataset, n, seed=g), steps=steps, batch=256,
                            lr=1e-3, lam_rec=lam_rec, lam_idem=lam_idem, lam_tight=lam_tight,
                            clamp=clamp, seed=seed, log_every=max(1, steps // 20))
        if len(cache) >= 32:
            cache.pop(next(iter(cache)))
        cache[(lam_rec, lam_idem, lam_tight, clamp, steps, seed, dataset)] = run
    return cache[(lam_rec, lam_idem, lam_tight, clamp, steps, seed, dataset)]


_IGN_CACHE: dict = {}


def plot_ign_orbit(f, n_apply: int = 3, *, dataset: str = "8gaussians", n_points: int = 1000,
                   axes=None, label: str = "") -> list:
    r"""Scatter :math:`f^k(z)` for :math:`k = 1..n` over the data, one panel per :math:`k`.

    Each panel's title gives the modes captured and the high-quality fraction
    (:func:`gantools.metrics.mode_stats`) when ``dataset`` is a mixture. Returns the list of
    :class:`gantools.metrics.ModeStats` (or ``None`` entries for datasets without modes).
    """
    from . import data, ign, metrics
    from .plot import scatter_real_fake

    z = torch.randn(n_points, 2, generator=torch.Generator().manual_seed(123))
    orbit = ign.apply_n(f, z, n_apply)
    real = data.sample(dataset, n_points, seed=5)
    if axes is None:
        _, axes = plt.subplots(1, n_apply, figsize=(2.6 * n_apply, 2.7), squeeze=False)
        axes = axes[0]
    out = []
    for k, ax in zip(range(1, n_apply + 1), axes):
        scatter_real_fake(ax, real, orbit[k], s=2, labels=("data", f"$f^{k}(z)$"))
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        if dataset in ("8gaussians", "25gaussians"):
            st = metrics.mode_stats(orbit[k], data.mode_centers(dataset), data.mode_sigma(dataset))
            ax.set_title(f"{label}$f^{k}(z)$: {st.modes_captured}/{st.n_modes} modes, "
                         f"hq {st.high_quality_fraction:.2f}", fontsize=8)
            out.append(st)
        else:
            ax.set_title(f"{label}$f^{k}(z)$", fontsize=8)
            out.append(None)
    return out


def ign_explorer(steps: int = 600) -> Any:
    """ipywidgets explorer: IGN's weights, the tanh clamp and the number of applications of f.

    Each change of a weight retrains a small 2-D IGN (a few seconds, cached); changing only the
    number of applications redraws. The static counterpart is :func:`plot_ign_orbit` applied to
    :func:`ign_run`.
    """
    import ipywidgets as w

    lam_rec = w.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.25, description="λ_rec", continuous_update=False)
    lam_idem = w.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.25, description="λ_idem", continuous_update=False)
    lam_tight = w.FloatSlider(value=0.1, min=0.0, max=2.0, step=0.05, description="λ_tight", continuous_update=False)
    use_clamp = w.Checkbox(value=False, description="tanh clamp")
    a = w.FloatSlider(value=1.5, min=0.25, max=5.0, step=0.25, description="clamp a", continuous_update=False)
    n_apply = w.IntSlider(value=3, min=1, max=5, description="applications", continuous_update=False)

    def draw(lam_rec, lam_idem, lam_tight, use_clamp, a, n_apply):
        run = ign_run(lam_rec=lam_rec, lam_idem=lam_idem, lam_tight=lam_tight,
                      clamp=a if use_clamp else None, steps=steps)
        plot_ign_orbit(run.f, n_apply)
        plt.tight_layout()
        plt.show()

    out = w.interactive_output(draw, dict(lam_rec=lam_rec, lam_idem=lam_idem, lam_tight=lam_tight,
                                          use_clamp=use_clamp, a=a, n_apply=n_apply))
    controls = w.VBox([w.HBox([lam_rec, lam_idem, lam_tight]), w.HBox([use_clamp, a, n_apply])])
    return w.VBox([controls, out])


# --------------------------------------------------------------------------- Part III: MonoFlow
def monoflow_run(h: str = "identity", *, eps: float = 0.1, d_steps: int = 1, g_steps: int = 1,
                 loss: str = "distill", iters: int = 300, seed: int = 0):
    r"""One run of MonoFlow's Gaussian toy for the explorer (:func:`gantools.monoflow.gaussian_toy`).

    The generator uses plain SGD so that :math:`\epsilon` keeps its meaning: learning rate 0.25 on
    the distillation loss (each step moves the affine generator half-way to the Euler-moved samples
    :math:`G_{\theta_t}(z)+\epsilon\nabla h(D)`), or :math:`2\epsilon\cdot 0.25` on :math:`-h(D(G))`, so
    that with ``g_steps=1`` the two losses take the same steps.
    """
    from . import monoflow as mf

    mf.get_h(h)
    check_name(loss, mf.GEN_LOSSES, "generator loss")
    eps = check_positive(eps, "eps")
    lr_g = 0.25 if loss == "distill" else 2 * eps * 0.25
    return mf.gaussian_toy(h, loss=loss, iters=iters, d_steps=d_steps, g_steps=g_steps, eps=eps,
                           lr_g=lr_g, optimizer="sgd", record_every=10, seed=seed)


def plot_monoflow_run(run, *, title: str = "", axes=None) -> plt.Figure:
    """Two panels: the generator's 2-sd ellipses along training against the target, and :math:`W_2`."""
    import numpy as np

    from . import monoflow as mf

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    else:
        fig = axes[0].figure
    a1, a2 = axes
    h = run.history
    th = np.linspace(0, 2 * np.pi, 80)
    circ = 2 * np.stack([np.cos(th), np.sin(th)], 1)
    n = len(h["mean"])
    for j, k in enumerate(np.unique(np.linspace(0, n - 1, 6).astype(int))):
        e = h["mean"][k] + circ @ np.linalg.cholesky(h["cov"][k] + 1e-12 * np.eye(2)).T
        a1.plot(e[:, 0], e[:, 1], color=COLORS["fake"], lw=1, alpha=0.25 + 0.75 * k / max(n - 1, 1))
    e = mf.TOY_MEAN + circ @ np.linalg.cholesky(mf.TOY_COV).T
    a1.plot(e[:, 0], e[:, 1], color=COLORS["real"], lw=2.5, alpha=0.6, label="target")
    a1.plot([], [], color=COLORS["fake"], label="generator (darker = later)")
    a1.set_aspect("equal")
    a1.set_xlabel("$x_1$")
    a1.set_ylabel("$x_2$")
    a1.legend(fontsize=7, loc="lower right")
    a2.semilogy(h["iter"], np.maximum(h["w2"], 1e-4), color=COLORS["fake"])
    a2.set_xlabel("iteration")
    a2.set_ylabel("Gaussian $W_2$ to target")
    a1.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def monoflow_explorer() -> Any:
    """Interactive MonoFlow toy: h, eps, discriminator steps, generator steps, generator loss."""
    import ipywidgets as W

    from . import monoflow as mf
    from .train import DivergenceError

    style = {"description_width": "110px"}
    ctl = {
        "h": W.Dropdown(options=list(mf.H_FUNCTIONS), value="identity", description="h", style=style),
        "loss": W.Dropdown(options=list(mf.GEN_LOSSES), value="distill", description="generator loss", style=style),
        "eps": W.FloatLogSlider(value=0.1, base=10, min=-2, max=0, description="eps", style=style),
        "d_steps": W.IntSlider(value=1, min=1, max=10, description="D steps / iter", style=style),
        "g_steps": W.IntSlider(value=1, min=1, max=32, description="G steps / iter", style=style),
        "iters": W.IntSlider(value=300, min=50, max=1000, step=50, description="iterations", style=style),
    }
    def figure(h, loss, eps, d_steps, g_steps, iters) -> plt.Figure:
        run = monoflow_run(h, eps=eps, d_steps=d_steps, g_steps=g_steps, loss=loss, iters=iters)
        return plot_monoflow_run(run, title=f"h={h}, {loss}, eps={eps:.3g}, D/G steps {d_steps}/{g_steps}")

    out = _live_figure(ctl, figure, errors=(ValueError, DivergenceError))
    keys = list(ctl)
    return W.VBox([W.HBox([W.VBox([ctl[k] for k in keys[:3]]), W.VBox([ctl[k] for k in keys[3:]])]), out])
