"""gantools: the small package behind *Four Views of One Game*, an executable book on GAN theory.

One concept per module; the API page of the book renders every docstring.

Shared
------
check         check cells: ``claim(text, ok, **measured)`` and the ledger of checked claims
errors        the one ``DivergenceError``
data          toy 2-D distributions and the 8x8 digits
nets          small network builders (MLP, an ensemble of MLPs run as one batch)
losses        GAN loss pairs, penalties, single-loss compositions
train         the alternating training loop, weight EMA, divergence checks
metrics       mode coverage, exact W2, MMD, digit scores
cost          what a training step costs: time, FLOPs, parameters
plot          the book's figure style and shared plots
utils         notebook conveniences (seeding, threads)

Part I — dynamics
-----------------
dirac         Dirac GAN vector fields (by autograd), integrators, Jacobians, invariants
dirac_gd      the Dirac GAN under finite steps: simultaneous and alternating gradient descent
remedies      slight L2 on a real discriminator, EMA of the generator

Part II — the energy view
-------------------------
energy        energy models on a grid, positive/negative phases, the energy GAN
entropy       entropy surrogates: the InfoGAN bound and the JSD estimator
mcmc          Langevin dynamics and MALA, vectorised over chains
latent        sampling a trained energy GAN in latent space at a matched budget

Part III — the GAN as a diffusion ODE
-------------------------------------
monoflow      MonoFlow's h functions and generator losses
gaussian      Gaussian closed forms (densities, log ratios, KL, W2, the Gaussian flow)
ratio         log density-ratio estimation (logistic D, f-GAN critics)
flow          particle flow, distillation and generator training
gaussian_toy  the MonoFlow paper's Gaussian toy, many runs as one batch
ring_metrics  mode precision: on the modes, or near them

Part IV — IGN as a GAN
----------------------
ign           the idempotent generative network's loss and training
ensemble      independent autoencoder runs side by side in one batched network
digits        8x8 digits: networks, a reference classifier, image scores

Synthesis and explorers
-----------------------
twotimescale  what a faster discriminator changes, and what it does not
explorers     ipywidgets explorers, one per part, with the fast model each runs
widgets       deprecated aliases of the explorers
"""
__version__ = "0.2.0"
