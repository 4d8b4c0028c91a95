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

Run:  python benchmarks/part4_ign_vs_gan.py [--steps 6000] [--seeds 0 1 ...] [--models ...] [--device cpu] [--scale book|paper]
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import data, digits, ign, metrics, stored, train

SEEDS = tuple(range(6))
MODELS = {"IGN recipe": None, "GAN lr 0.0002": 2e-4, "GAN lr 0.001": 1e-3}
"""The models trained (a GAN's value is its learning rate)."""
# the code whose behaviour the stored numbers record (Part IV, notebook 4 checks it is current)
CODE = (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder, digits.gan_pair,
        train.train_gan_stacked,  # and every other gantools function the script calls
        digits.stacked_autoencoders, digits.stacked_gan_pairs, digits.sampler, metrics.score_samples,
        metrics.digit_scores, data.digits)


def _tracker(store: dict, z: torch.Tensor):
    """A callback recording each member's class coverage of ``net(z)`` at every logged step."""
    def record(step, net):
        out = net(z).cpu()
        store[step] = [metrics.digit_scores(out[m]).coverage for m in range(len(out))]
    return record


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--scale", default="book", choices=("book", "paper"))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="a subset of SEEDS")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.set_num_threads(1)
    c0 = time.process_time()
    x, _ = data.digits(seed=0)
    sample_real = digits.sampler(x)
    gen = torch.Generator().manual_seed(123)
    pick = [SEEDS.index(s) for s in args.seeds]    # each seed keeps its own slice of the fixed noise
    z_img = torch.randn(len(SEEDS), 1000, 64, generator=gen)[pick].to(dev)
    z_lat = torch.randn(len(SEEDS), 1000, 32, generator=gen)[pick].to(dev)
    results = {}
    paper = ign.PAPER if args.scale == "paper" else {}
    for name in args.models:
        cov: dict[int, list[int]] = {}
        if name == "IGN recipe":   # the book's scale: train_ign_ensemble's defaults, which are ign.RECIPE (tested)
            net = digits.stacked_autoencoders(args.seeds)
            run = ign.train_ign_ensemble(net, sample_real, steps=args.steps, seeds=args.seeds, device=dev,
                                         log_every=500, callback=_tracker(cov, z_img), **paper)
            z, extra = z_img, dict(settings=dict({k: v for k, v in ign.RECIPE.items() if k != "steps"}, **paper))
        else:
            lr = MODELS[name]
            net, D = digits.stacked_gan_pairs(args.seeds)
            run = train.train_gan_stacked(net, D, sample_real, z_dim=32, steps=args.steps, lr_d=lr, lr_g=lr,
                                          seeds=args.seeds, device=dev, log_every=500, callback=_tracker(cov, z_lat))
            z, extra = z_lat, {}
        with torch.no_grad():
            out = net(z).cpu()
        results[name] = dict(seconds=run.seconds, coverage_over_steps=cov, **extra,
                             final=[metrics.score_samples(out[m], x).__dict__ for m in range(len(args.seeds))])
    for name, r in results.items():
        print(f"\n{name}: {len(args.seeds)} seeds x {args.steps} steps side by side in {r['seconds']:.0f} s")
        print("  coverage over steps (min..max over seeds):",
              " ".join(f"{s}:{min(c)}..{max(c)}" for s, c in r["coverage_over_steps"].items()))
        for k in ("coverage", "confidence", "kl_to_uniform", "sharpness", "diversity"):
            v = [row[k] for row in r["final"]]
            print(f"  {k:14s} {min(v):.3f}..{max(v):.3f}")
    name = "part4_ign_vs_gan" + ("" if args.scale == "book" else f"_{args.scale}")
    out = stored.save(name, dict(steps=args.steps, seeds=list(args.seeds), threads=1, device=str(dev),
                                 cpu_seconds=time.process_time() - c0, results=results), code=CODE, settings=vars(args))
    print(f"wrote {out}")


def spot_check(record: dict) -> dict:
    """One cell of the stored run to rerun (``tools/spot_check.py``): IGN with the recipe, seed 1, full length.

    The seed trains alone, with its own data stream and its own slice of the fixed noise, so it
    repeats the stored member up to rounding; a batch of one rounds differently in the last bits,
    and thousands of steps can amplify that, so the tolerance is a class either way. On another kind
    of CPU the 6,000 steps are in effect another run: its final diversity (1.04 stored) read 1.26 on an
    AVX-512 machine. The tolerance of 0.3 still tells a run that keeps its spread from one that
    collapses onto an image (diversity below 0.1, as the stored seed 0 ends).
    """
    seed = 1

    def values(rec: dict) -> dict:
        r, m = rec["results"]["IGN recipe"], rec["seeds"].index(seed)
        cov = r["coverage_over_steps"]
        return {"coverage_2000": cov["2000"][m], "coverage_end": r["final"][m]["coverage"],
                "diversity_end": r["final"][m]["diversity"]}

    return dict(argv=["--seeds", str(seed), "--models", "IGN recipe", "--steps", str(record["steps"])],
                values=values, tol={"coverage_2000": 1, "coverage_end": 1, "diversity_end": 0.3})


if __name__ == "__main__":
    main()
