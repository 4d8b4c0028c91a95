"""Benchmark: batched Dirac GAN simulation against scipy's solve_ivp one trajectory at a time.

For every variant, 1,000 random starting points (phi0, theta0) in [-1, 1]^4, with |phi0| >= 0.25
(WGAN's field is undefined at phi = 0 and becomes stiff near it), are integrated to t = 10.

* The reference is scipy's DOP853 at rtol = atol = 1e-12, one trajectory at a time.
* scipy's contestant is ``solve_ivp`` (RK45, its default) called per trajectory with a NumPy
  right-hand side, as the source post's plotting code did, at the **loosest** tolerance
  (rtol in 1e-3, 1e-4, ..., 1e-10, atol = rtol / 100) whose final states all agree with the
  reference to 1e-4.
* gantools' contestant is one batched ``dirac.simulate`` call with **default arguments** (RK4,
  the hand-written field) at the **largest** step dt in (0.1, 0.05, 0.02, 0.01, 0.005) that agrees
  with the reference to 1e-4.

Prints one row per variant: the chosen tolerance and step, both wall-clock times for 1,000
trajectories, the speed-up per trajectory and the largest difference from the reference; the
autograd field's time at the same step (``field="autograd"``) is shown for comparison. Both
contestants run on one core. The last lines give the smallest speed-up and its ratio to the goal
(20x per trajectory).

Run:  python benchmarks/bench_dirac.py [--n 1000] [--t-end 10]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.special import expit

from gantools import dirac

TOL = 1e-4
GOAL = 20.0  # speed-up per trajectory that the default dirac.simulate must reach
CASES = [dirac.DiracGAN("vanilla"), dirac.DiracGAN("saturating"), dirac.DiracGAN("wgan"),
         dirac.DiracGAN("wgan_gp", c=0.0), dirac.DiracGAN("wgan_gp", c=1.0), dirac.DiracGAN("gan_qp")]


def numpy_rhs(m: dirac.DiracGAN):
    """The closed-form field in NumPy for one state y = (phi, theta) in R^4 (what a user would write)."""
    lam = m.lam or 0.0
    c = m.c or 0.0

    def rhs(_t, y):
        p, t = y[:2], y[2:]
        s = t @ p
        if m.variant in ("vanilla", "saturating"):
            sig = expit(s)
            dp, dt = -sig * t, (sig if m.variant == "saturating" else 1 - sig) * p
        elif m.variant == "wgan":
            n = np.linalg.norm(p)
            dp, dt = -t / n + s * p / n**3, p / n
        elif m.variant == "wgan_gp":
            n = np.linalg.norm(p)
            dp, dt = -t - 2 * lam * (1 - c / n) * p, p
        else:
            dp, dt = -t - s * t / (lam * np.linalg.norm(t)), p
        return np.concatenate([dp, dt])

    return rhs


def scipy_ends(rhs, y0: np.ndarray, t_end: float, **kw) -> np.ndarray:
    return np.stack([solve_ivp(rhs, (0, t_end), y, **kw).y[:, -1] for y in y0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--t-end", type=float, default=10.0)
    args = ap.parse_args()
    torch.set_num_threads(1)  # one core for both contestants
    rng = np.random.default_rng(0)
    y0 = rng.uniform(-1, 1, size=(4 * args.n, 4))
    y0 = y0[np.linalg.norm(y0[:, :2], axis=1) >= 0.25][: args.n]
    dirac.simulate("vanilla", y0[:, :2], y0[:, 2:], t_end=0.1, dt=0.01)  # warm-up
    print(f"{args.n} trajectories per variant, t in [0, {args.t_end}], agreement required: {TOL:g}")
    head = (f"{'variant':<24}{'scipy rtol':>11}{'scipy s':>9}{'dt':>7}{'gantools s':>11}{'autograd s':>11}"
            f"{'speed-up':>10}{'max|diff|':>11}")
    print(head)
    rows = []
    for m in CASES:
        rhs = numpy_rhs(m)
        ref = scipy_ends(rhs, y0, args.t_end, method="DOP853", rtol=1e-12, atol=1e-12)
        for rtol in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
            t0 = time.perf_counter()
            ends = scipy_ends(rhs, y0, args.t_end, rtol=rtol, atol=rtol / 100)
            ts = time.perf_counter() - t0
            if np.abs(ends - ref).max() < TOL:
                break
        for dt in (0.1, 0.05, 0.02, 0.01, 0.005):
            t0 = time.perf_counter()
            tr = m.simulate(y0[:, :2], y0[:, 2:], t_end=args.t_end, dt=dt, save_every=10**9)  # default arguments
            tg = time.perf_counter() - t0
            ours = np.concatenate([tr.phi[-1].numpy(), tr.theta[-1].numpy()], axis=1)
            diff = float(np.abs(ours - ref).max())
            if diff < TOL:
                break
        t0 = time.perf_counter()
        m.simulate(y0[:, :2], y0[:, 2:], t_end=args.t_end, dt=dt, save_every=10**9, field="autograd")
        ta = time.perf_counter() - t0
        rows.append((m.label(), rtol, ts, dt, tg, ta, diff))
        print(f"{m.label():<24}{rtol:>11.0e}{ts:9.2f}{dt:7.3f}{tg:11.3f}{ta:11.3f}{ts / tg:9.1f}x{diff:11.1e}")
    tot_s, tot_g = sum(r[2] for r in rows), sum(r[4] for r in rows)
    print(f"{'all':<24}{'':>11}{tot_s:9.2f}{'':>7}{tot_g:11.3f}{sum(r[5] for r in rows):11.3f}{tot_s / tot_g:9.1f}x"
          f"{max(r[6] for r in rows):11.1e}")
    worst = min(r[2] / r[4] for r in rows)
    print(f"smallest speed-up per trajectory (default dirac.simulate vs one-at-a-time solve_ivp): {worst:.1f}x; "
          f"goal {GOAL:g}x; ratio to the goal {worst / GOAL:.2f}")
    print(f"every variant >= {GOAL:g}x faster per trajectory:", "yes" if worst >= GOAL else "NO")


if __name__ == "__main__":
    main()
