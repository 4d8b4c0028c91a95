"""Benchmark: batched Dirac GAN simulation against scipy's solve_ivp one trajectory at a time.

For every variant, 1,000 random starting points (phi0, theta0) in [-1, 1]^4, with |phi0| >= 0.25
(WGAN's field is undefined at phi = 0 and becomes stiff near it), are integrated to
t = 10: once by ``gantools.dirac.simulate`` in one batched RK4 call (dt = 0.01) with the autograd field
(the default) and once more with the hand-written field (``field="closed"``),
and once by ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-9, atol 1e-11) called per trajectory
with a NumPy right-hand side, as the source post's plotting code did. Prints both wall-clock
times, the speed-up per trajectory, and the largest difference between the two final states.

Run:  python benchmarks/bench_dirac.py [--n 1000] [--t-end 10]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp

from gantools import dirac


def numpy_rhs(variant: str, hp: dict):
    """The post's closed-form fields, in NumPy, for one state y = (phi, theta) in R^4."""
    lam, c = hp.get("lam", 0.0), hp.get("c", 0.0)

    def rhs(_t, y):
        p, t = y[:2], y[2:]
        s = t @ p
        if variant == "vanilla":
            sig = 1 / (1 + np.exp(-s))
            dp, dt = -sig * t, (1 - sig) * p
        elif variant == "wgan":
            n = np.linalg.norm(p)
            dp, dt = -t / n + s * p / n**3, p / n
        elif variant == "wgan_gp":
            n = np.linalg.norm(p)
            dp, dt = -t - 2 * lam * (1 - c / n) * p, p
        else:
            dp, dt = -t - s * t / (lam * np.linalg.norm(t)), p
        return np.concatenate([dp, dt])

    return rhs


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
    cases = [("vanilla", {}), ("wgan", {}), ("wgan_gp", {"lam": 0.1, "c": 0.0}),
             ("wgan_gp", {"lam": 0.1, "c": 1.0}), ("gan_qp", {"lam": 1.0})]
    print(f"{args.n} trajectories per variant, t in [0, {args.t_end}]")
    print(f"{'variant':<16}{'autograd s':>11}{'closed s':>10}{'scipy s':>10}{'speed-up':>10}{'(closed)':>10}{'max |diff|':>13}")
    tot_b = tot_c = tot_s = 0.0
    worst = 0.0
    for variant, hp in cases:
        t0 = time.perf_counter()
        tr = dirac.simulate(variant, y0[:, :2], y0[:, 2:], t_end=args.t_end, dt=0.01,
                            save_every=10**9, **hp)
        tb = time.perf_counter() - t0
        t0 = time.perf_counter()
        trc = dirac.simulate(variant, y0[:, :2], y0[:, 2:], t_end=args.t_end, dt=0.01,
                             save_every=10**9, field="closed", **hp)
        tc = time.perf_counter() - t0
        rhs = numpy_rhs(variant, dirac.DEFAULT_HPARAMS[variant] | hp)
        t0 = time.perf_counter()
        ends = np.stack([solve_ivp(rhs, (0, args.t_end), y, rtol=1e-9, atol=1e-11).y[:, -1] for y in y0])
        ts = time.perf_counter() - t0
        ours = np.concatenate([tr.phi[-1].numpy(), tr.theta[-1].numpy()], axis=1)
        ours_c = np.concatenate([trc.phi[-1].numpy(), trc.theta[-1].numpy()], axis=1)
        diff = max(float(np.abs(ours - ends).max()), float(np.abs(ours_c - ends).max()))
        worst = max(worst, diff)
        tot_b += tb
        tot_c += tc
        tot_s += ts
        name = variant + (f"(c={hp['c']:g})" if "c" in hp else "")
        print(f"{name:<16}{tb:11.2f}{tc:10.2f}{ts:10.2f}{ts / tb:9.1f}x{ts / tc:9.1f}x{diff:13.2e}")
    print(f"{'all':<16}{tot_b:11.2f}{tot_c:10.2f}{tot_s:10.2f}{tot_s / tot_b:9.1f}x{tot_s / tot_c:9.1f}x{worst:13.2e}")
    print("agreement to 1e-4:", "yes" if worst < 1e-4 else "NO")


if __name__ == "__main__":
    main()
