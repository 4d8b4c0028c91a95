"""The Part II sweep: can a longer or wider CPU run of the energy GAN reach the paper's numbers?

Notebook ``chapters/part2_energy/03_entropy_table`` states that, at CPU budgets, no raw generator
on the 25-Gaussian grid gets far beyond a few percent of high-quality samples, and that the KL gap
between runs with and without an entropy term depends on the number of energy steps per generator
step. This script re-runs the settings behind that statement (three seeds each, all three entropy
treatments trained side by side by ``gantools.energy.train_engan``) and prints, per setting and
treatment, the modes captured, the high-quality fraction and the KL to uniform of 2,500 samples.

Run:  python benchmarks/part2_engan_sweep.py            (about 10-20 minutes on a 2-core CPU)
      python benchmarks/part2_engan_sweep.py --quick    (the first two settings only)
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import data, metrics
from gantools import energy as en

# (generator steps, width, energy steps per generator step, learning rate, depth, batch)
SETTINGS = [
    (3000, 64, 1, 2e-3, 2, 128),
    (3000, 64, 1, 5e-3, 2, 128),
    (1500, 64, 3, 2e-3, 2, 128),
    (1500, 64, 5, 1e-3, 2, 128),
    (3000, 64, 1, 2e-3, 3, 128),
    (3000, 128, 1, 2e-3, 2, 256),
    (8000, 64, 1, 2e-3, 2, 128),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    name = "25gaussians"
    centres, sigma = data.mode_centers(name), data.mode_sigma(name)
    best_hq = 0.0
    for steps, width, u_steps, lr, depth, batch in SETTINGS[: 2 if args.quick else None]:
        t0 = time.perf_counter()
        run = en.train_engan(lambda n, g: data.sample(name, n, seed=g), seeds=[0, 1, 2], steps=steps,
                             hidden=width, depth=depth, u_steps=u_steps, lr_u=lr, lr_g=lr, batch=batch)
        print(f"== steps {steps}, width {width}, depth {depth}, energy steps {u_steps}, lr {lr:g}, "
              f"batch {batch} ({time.perf_counter() - t0:.0f} s)")
        for m, (treatment, seed) in enumerate(run.labels):
            x = run.sample(m, 2500, seed=99)
            st = metrics.mode_stats(x, centres, sigma, min_count=max(1, int(0.1 * 2500 / len(centres))))
            best_hq = max(best_hq, st.high_quality_fraction)
            print(f"   {treatment:<8} seed {seed}: modes {st.modes_captured:2d}/25, "
                  f"high quality {st.high_quality_fraction:.3f}, KL to uniform {st.kl_to_uniform:.3f}")
    print(f"largest high-quality fraction over all runs: {best_hq:.3f}")


if __name__ == "__main__":
    main()
