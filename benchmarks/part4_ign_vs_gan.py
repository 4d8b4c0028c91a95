"""Benchmark: IGN (the recipe) against the matched GAN on the 8x8 digits, trained long.

Six seeds of ``digits.autoencoder("mlp")`` trained by ``ign.train_ign_ensemble`` with the recipe
(``ign.RECIPE``: its weights, clamp, Adam learning rate and batch) and six seeds of the GAN of
``digits.gan_pair`` (non-saturating loss, ``train.train_gan_stacked``, batch 128) at learning rates
2e-4 and 1e-3, each for 6000 steps (three times the recipe's length). Member ``m`` (seed ``s``) is
initialised with seed ``s`` and draws its data and noise from its own stream seeded ``s``. Every
500 steps: class coverage of each run (``metrics.digit_scores``: classes confidently recognised);
at the end: coverage, confidence, KL to uniform, sharpness/real, diversity. Answers "does IGN lose
classes as it trains longer?" and documents the GAN learning rate used in Part IV, notebook 4.

Prints a table and writes gantools/results/part4_ign_vs_gan.json (gantools.stored, with a SHA-1 of
the code in CODE), which Part IV, notebook 4 shows.  About 4 CPU minutes.

``--scale paper`` trains IGN with the IGN paper's optimiser and weight scale instead of the recipe's
(``ign.PAPER``: Adam 1e-4, batch 256, weights 20, 20, 2.5 with clamp a = 1.5) and
writes part4_ign_vs_gan_paper.json, which the book does not show; the GAN is the same.

Run:  python benchmarks/part4_ign_vs_gan.py [--steps 6000] [--device cpu] [--scale book|paper]
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import data, digits, ign, metrics, stored, train

SEEDS = tuple(range(6))
# the code whose behaviour the stored numbers record (Part IV, notebook 4 checks it is current)
CODE = (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder, digits.gan_pair,
        train.train_gan_stacked,  # and every other gantools function the script calls
        digits.stacked_autoencoders, digits.stacked_gan_pairs, digits.sampler, metrics.score_samples,
        metrics.digit_scores, data.digits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--scale", default="book", choices=("book", "paper"))
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.set_num_threads(1)
    c0 = time.process_time()
    x, _ = data.digits(seed=0)
    sample_real = digits.sampler(x)
    gen = torch.Generator().manual_seed(123)
    z_img = torch.randn(len(SEEDS), 1000, 64, generator=gen).to(dev)
    z_lat = torch.randn(len(SEEDS), 1000, 32, generator=gen).to(dev)
    results = {}

    def tracker(store, z):
        def record(step, net):
            out = net(z).cpu()
            store[step] = [metrics.digit_scores(out[m]).coverage for m in range(len(SEEDS))]
        return record

    cov: dict[int, list[int]] = {}
    f = digits.stacked_autoencoders(SEEDS)
    # the book's scale: train_ign_ensemble's defaults, which are ign.RECIPE (a test checks it)
    paper = ign.PAPER if args.scale == "paper" else {}
    run = ign.train_ign_ensemble(f, sample_real, steps=args.steps, seeds=SEEDS, device=dev, log_every=500,
                                 callback=tracker(cov, z_img), **paper)
    recipe = dict({k: v for k, v in ign.RECIPE.items() if k != "steps"}, **paper)
    with torch.no_grad():
        out = f(z_img).cpu()
    results["IGN recipe"] = dict(seconds=run.seconds, coverage_over_steps=cov, settings=recipe,
                                 final=[metrics.score_samples(out[m], x).__dict__ for m in range(len(SEEDS))])
    for lr in (2e-4, 1e-3):
        cov = {}
        G, D = digits.stacked_gan_pairs(SEEDS)
        gr = train.train_gan_stacked(G, D, sample_real, z_dim=32, steps=args.steps, lr_d=lr, lr_g=lr, seeds=SEEDS,
                                     device=dev, log_every=500, callback=tracker(cov, z_lat))
        with torch.no_grad():
            out = G(z_lat).cpu()
        results[f"GAN lr {lr:g}"] = dict(seconds=gr.seconds, coverage_over_steps=cov,
                                         final=[metrics.score_samples(out[m], x).__dict__ for m in range(len(SEEDS))])
    for name, r in results.items():
        print(f"\n{name}: 6 seeds x {args.steps} steps side by side in {r['seconds']:.0f} s")
        print("  coverage over steps (min..max over seeds):",
              " ".join(f"{s}:{min(c)}..{max(c)}" for s, c in r["coverage_over_steps"].items()))
        for k in ("coverage", "confidence", "kl_to_uniform", "sharpness", "diversity"):
            v = [row[k] for row in r["final"]]
            print(f"  {k:14s} {min(v):.3f}..{max(v):.3f}")
    out = stored.save("part4_ign_vs_gan", dict(steps=args.steps, seeds=list(SEEDS), threads=1,
                                               cpu_seconds=time.process_time() - c0, results=results), code=CODE, settings=vars(args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
