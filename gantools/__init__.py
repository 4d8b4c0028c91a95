"""gantools: the small package behind *Four Views of One Game*, an executable book on GAN theory.

One concept per module. :data:`MODULES` is the one map of which module serves which part of the
book (the API page is generated from it by ``tools/make_api_page.py``, and a test checks that it
names every module exactly once).
"""
import time as _time

__version__ = "0.2.0"
_IMPORTED_AT = _time.time()  # gantools.stored refuses to save numbers computed by code edited after this

MODULES: dict[str, dict[str, str]] = {
    "Checks and errors": {
        "check": "check cells: claim(text, ok, **measured) and the ledger of checked claims",
        "errors": "the one DivergenceError",
        "stored": "stored results of the long benchmarks: provenance, digest, spot checks",
        "calibration": "how often a claim about a training outcome holds over seeds: binomial bounds "
                       "from a stored many-seed run",
    },
    "Shared building blocks": {
        "data": "toy 2-D distributions and the 8x8 digits",
        "nets": "the MLP builder and parameter counts",
        "ensemble": "the batched-member engine: stacked MLPs, vmap ensembles, the per-member "
                    "optimiser and random streams",
        "losses": "GAN loss pairs (per network or per member), penalties, single-loss compositions",
        "train": "train_gan (one run) and train_gan_stacked (the one batched GAN trainer: per-member "
                 "R1, L2, learning rates, seeds), weight EMA",
        "metrics": "every mode metric (coverage, balance, precision), exact W2, MMD, digit scores",
        "gaussian": "Gaussian closed forms (densities, log ratios, KL, W2, the Gaussian flow)",
        "cost": "what a training step costs: time and FLOPs",
        "plot": "the book's figure style and shared plots",
        "utils": "notebook conveniences (seeding, threads)",
    },
    "Part I: training as a dynamical system": {
        "dirac": "Dirac GAN losses and vector fields (autograd and closed form), the flow's Jacobian, "
                 "the one integrator (integrate), invariants, end states",
        "dirac_gd": "the Dirac GAN under finite steps: update-map Jacobians, learning-rate thresholds, "
                    "simultaneous and alternating descent",
        "remedies": "the L2 / EMA experiments: an MLP GAN per (L2, seed) and the supervised EMA test",
    },
    "Part II: the energy view": {
        "energy": "energy models on a grid, positive/negative phases, the energy GAN",
        "entropy": "entropy surrogates: the InfoGAN bound and the JSD estimator",
        "mcmc": "Langevin dynamics and MALA, vectorised over chains",
        "energy_wells": "what a learned energy holds, and generators against the exact energy: runs, outcomes, claims",
        "latent": "sampling a trained energy GAN in latent space at a matched budget",
        "latent_pairs": "energy-GAN pairs sampled in latent space by ten methods: runs, outcomes, claims",
    },
    "Part III: the GAN as a diffusion ODE": {
        "monoflow": "MonoFlow's h functions, generator losses, the Euler step and the distillation loss",
        "ratio": "log density-ratio estimation (logistic D, f-GAN critics)",
        "known_ratio": "critics trained on two densities whose log ratio is known, and how they end",
        "flow": "the exact and the learned particle flow, train_monoflow and train_monoflow_stacked",
        "particle_toys": "the particle flow on the ring, the s-curve and a Gaussian: runs, outcomes, claims",
        "distill_toys": "the distillation loss against -D: a frozen D, full training, outcomes, claims",
        "gaussian_toy": "the MonoFlow paper's Gaussian toy, many runs as one batch",
    },
    "Part IV: IGN as a GAN": {
        "ign": "the idempotent generative network's loss and training",
        "digits": "8x8 digits: networks, a reference classifier, image scores",
        "ign_toys": "IGN and a GAN of the same size on the 8-Gaussian ring: runs, outcomes, claims",
        "ign_digits": "IGN with its recipe against the matched GAN on 8x8 digits: runs, outcomes, claims",
        "ign_orbits": "IGN's recipe and listing on 8x8 digits under repeated application: runs, outcomes, claims",
        "ign_dose": "IGN's weight ratio and clamp on 8x8 digits, seven runs per seed: runs, outcomes, claims",
    },
    "Synthesis": {
        "twotimescale": "what a faster discriminator changes, and what it does not (its Dirac runs use "
                        "dirac.integrate)",
    },
    "Explorers": {
        "explorers": "ipywidgets explorers, one per part, with the fast model each runs",
    },
}
"""Part of the book -> {module: what it holds}."""
