"""gantools: the small package behind *Four Views of One Game*, an executable book on GAN theory.

Modules
-------
dirac     Dirac GAN vector fields, integrators, Jacobians, discrete update maps (Part I)
data      toy 2-D distributions (and the 8x8 digits)
nets      small network builders
losses    GAN loss pairs, penalties, single-loss compositions
train     alternating training loop, weight EMA, divergence checks
metrics   mode coverage, exact W2, MMD, digit scores
plot      the book's figure style and shared plots
widgets   ipywidgets explorers
"""
__version__ = "0.1.0"
