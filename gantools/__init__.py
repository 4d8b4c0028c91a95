"""gantools: the small package behind *Four Views of One Game*, an executable book on GAN theory.

Modules
-------
dirac      Dirac GAN vector fields (by autograd), integrators, Jacobians, update maps, invariants (Part I)
energy     energy models on a grid, positive/negative phases, the energy GAN with entropy terms (Part II)
mcmc       Langevin dynamics and MALA, vectorised over chains (Part II)
monoflow   log-ratio estimation, Wasserstein-gradient-flow particles, distillation, h functions (Part III)
ign        the idempotent generative network's loss and training (Part IV)
digits     scikit-learn's 8x8 digits: networks, a reference classifier, image scores (Part IV)
data       toy 2-D distributions (and the digits)
nets       small network builders
losses     GAN loss pairs, penalties, single-loss compositions
train      alternating training loop, weight EMA, divergence checks
metrics    mode coverage, exact W2, MMD, digit scores
plot       the book's figure style and shared plots
widgets    ipywidgets explorers, each with a static figure
utils      notebook conveniences (seeding)
"""
__version__ = "0.1.0"
