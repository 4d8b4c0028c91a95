"""Part III: the exact-ratio flow follows h'(log r) grad log r with log r frozen, the KL rate
formula, and batched-member equivalence of the Part III trainers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gantools import gaussian as gs
from gantools import gaussian_toy as gt
from gantools.monoflow import ALL_H, get_h

START = np.array([1.0, 1.0])


def _frozen_ratio_gradient(h: str, n: int, seed: int, m=START, L=None
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample gradients of -h(log r(m + L z)) in (m, L) with log r frozen at (m, L).

    The velocity of a sample is v = h'(log r) grad_x log r; the loss gradient is -v for mu and
    -v z^T for L (lower triangle).
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    Lt = torch.eye(2, dtype=torch.float64) if L is None else torch.as_tensor(L, dtype=torch.float64)
    x = (torch.as_tensor(m, dtype=torch.float64) + z @ Lt.T).requires_grad_(True)
    log_r = gs.gaussian_log_ratio(x, gs.TOY_MEAN, gs.TOY_COV, m, (Lt @ Lt.T).numpy())
    (grad_log_r,) = torch.autograd.grad(log_r.sum(), x)
    v = get_h(h).derivative(log_r.detach())[:, None] * grad_log_r
    g_mu = -v
    g_L = -(v[:, :, None] * z[:, None, :]) * torch.tril(torch.ones(2, 2, dtype=torch.float64))
    return g_mu, g_L.flatten(1), z, x.detach()


# At the paper's start N((1, 1), I) the target is wider than q along one axis of TOY_COV
# (eigenvalue 1.75) and narrower along the other (0.14), so E_q[r^k] is finite only for k < 2.33 and
# E_q[r^-k] only for k < 0.16: the gradient of chi2 (h' ~ -2 r^2) has infinite variance and that of
# the exponential loss (h' = 1/r) an infinite mean there. Those two are checked in the KL-rate test,
# from a start where every moment needed is finite.
FINITE_AT_START = [h for h in ALL_H if h not in ("chi2", "exponential")]


@pytest.mark.parametrize("h", FINITE_AT_START)
def test_exact_ratio_generator_step_is_the_frozen_ratio_flow(h):
    """One SGD step of the exact-ratio ensemble moves (mu, L) by -lr times the expected gradient
    of -h(log r(G(z))) with log r frozen (a large-batch Monte-Carlo comparison; the tolerance is
    six standard errors of the two estimates). A ratio that follows the generator's parameters
    gives the total derivative instead (for h = exp about zero, against about (1, 1) here)."""
    lr, batch = 1e-3, 2 ** 15
    cfg = gt.ToyConfig(iters=1, batch=batch, exact_ratio=True, optimizer="sgd", lr_g=lr, record_every=1)
    ens = gt.train_toy_ensemble([h], [0], cfg)
    step_mu = (ens.mean[1, 0] - ens.mean[0, 0]) / -lr
    L1 = np.linalg.cholesky(ens.cov[1, 0])
    step_L = ((L1 - np.eye(2)) / -lr)[np.tril_indices(2)]
    g_mu, g_L, _, _ = _frozen_ratio_gradient(h, 2 ** 18, seed=123)
    expect = torch.cat([g_mu, g_L[:, [0, 2, 3]]], 1)
    got = np.concatenate([step_mu, step_L])
    se = expect.std(0).numpy() * np.sqrt(1 / batch + 1 / expect.shape[0])
    err = np.abs(got - expect.mean(0).numpy())
    # float32 training adds a relative error of about 1e-3 of lr-scaled parameters; allow 1e-2 absolute
    assert np.all(err < 6 * se + 1e-2), (h, got, expect.mean(0).numpy(), se)


@pytest.mark.parametrize("h", list(ALL_H))
def test_kl_rate_of_the_particle_flow(h):
    r"""d/dt KL(q_t || p) = -E_q[h'(log r) |grad log r|^2] for particles moved by
    x <- x + eps h'(log r(x)) grad log r(x) with the exact Gaussian ratio.

    KL of the moved law by change of variables on the same samples,
    KL(q_eps || p) - KL(q || p) = E_x[-log det(I + eps J_v(x)) - log p(x + eps v(x)) + log p(x)],
    as a central difference in eps; the tolerance is six standard errors of the per-sample
    difference between the two estimators plus the O(eps^2) term."""
    n = 40000
    # q = N(m, 0.95 TOY_COV): q narrower than p in every direction keeps the moments of both estimators
    # finite for every h of ALL_H (their variance for chi2 needs E_q[r^4] < inf: a factor above 0.75)
    m, S = np.array([0.5, -0.3]), 0.95 * np.asarray(gs.TOY_COV)
    _, _, z, x = _frozen_ratio_gradient(h, n, seed=7, m=m, L=np.linalg.cholesky(S))

    def velocity(y: torch.Tensor) -> torch.Tensor:
        log_r = gs.gaussian_log_ratio(y, gs.TOY_MEAN, gs.TOY_COV, m, S)
        (gr,) = torch.autograd.grad(log_r.sum(), y, create_graph=True)
        return _hprime(h, log_r)[:, None] * gr

    def log_p(y: torch.Tensor) -> torch.Tensor:
        return gs.gaussian_log_density(y, gs.TOY_MEAN, gs.TOY_COV)

    xr = x.clone().requires_grad_(True)
    v = velocity(xr)
    J = torch.stack([torch.autograd.grad(v[:, k].sum(), xr, retain_graph=True)[0] for k in range(2)], 1)
    v, J = v.detach(), J.detach()
    eye = torch.eye(2, dtype=torch.float64)
    eps = 1e-3 / float(J.abs().max())          # the particle limit: eps |J_v| << 1 at every sample

    def dkl(e: float) -> torch.Tensor:
        return -torch.logdet(eye + e * J) - log_p(x + e * v) + log_p(x)

    per_sample_rate = (dkl(eps) - dkl(-eps)) / (2 * eps)
    xg = x.clone().requires_grad_(True)
    log_r = gs.gaussian_log_ratio(xg, gs.TOY_MEAN, gs.TOY_COV, m, S)
    (grad_log_r,) = torch.autograd.grad(log_r.sum(), xg)
    formula = -_hprime(h, log_r.detach()) * grad_log_r.pow(2).sum(1)
    diff = per_sample_rate - formula
    diff = diff.detach()
    tol = 6 * float(diff.std()) / np.sqrt(n) + 1e-6 * float(formula.detach().abs().mean())
    assert abs(float(diff.mean())) < tol, (h, float(per_sample_rate.mean()), float(formula.mean()), tol)


def _hprime(h: str, d: torch.Tensor) -> torch.Tensor:
    """h'(d), differentiable in d (autograd through h)."""
    with torch.enable_grad():
        dd = d if d.requires_grad else d.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(get_h(h).fn(dd).sum(), dd, create_graph=True)
    return g


# ------------------------------------------------------------------------------------------------
# Batched members equal the member trained alone
# ------------------------------------------------------------------------------------------------

TOY_TOL = 1e-5
"""Largest absolute difference allowed between a member of an ensemble and the member trained
alone, in every recorded mean, covariance and KL (float32 training; batched products may round
differently from a batch of one)."""


@pytest.mark.parametrize("exact_ratio", [True, False])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_toy_ensemble_member_equals_member_alone(exact_ratio, optimizer):
    hs, seeds = ["identity", "exp", "sin", "chi2"], [0, 3]
    cfg = gt.ToyConfig(iters=25, batch=32, hidden=(16, 8), exact_ratio=exact_ratio, optimizer=optimizer,
                       lr_g=1e-2 if optimizer == "adam" else 2e-2, lr_d=2e-3, betas=(0.5, 0.999), record_every=5)
    ens = gt.train_toy_ensemble(hs, seeds, cfg)
    worst = 0.0
    for h in hs:
        for s in seeds:
            alone = gt.train_toy_ensemble([h], [s], cfg)
            j = [i for i in ens.members(h) if ens.seeds[i] == s][0]
            for key in ("mean", "cov", "kl"):
                worst = max(worst, float(np.abs(getattr(ens, key)[:, j] - getattr(alone, key)[:, 0]).max()))
            assert ens.diverged_at[j] == alone.diverged_at[0]
    assert worst <= TOY_TOL, worst
    # members of one seed see the same batches: two h with the same speed factor at step 0 agree
    # on nothing more, but different seeds must give different runs
    a, b = ens.members("identity")
    assert np.abs(ens.mean[-1, a] - ens.mean[-1, b]).max() > 1e-4


STACKED_TOL = 1e-4
"""Largest absolute difference allowed between a member of train_monoflow_stacked and
train_monoflow run alone from the same networks with seed = the member's stream, in the generated
samples after a short run (float32; batched products round differently from nn.Linear)."""


def test_train_monoflow_stacked_member_equals_train_monoflow_alone():
    from gantools import data, nets
    from gantools.ensemble import EnsembleMLP
    from gantools.flow import train_monoflow, train_monoflow_stacked

    pool = data.sample("8gaussians", 2000, seed=0)

    def real(k, g):
        return pool[torch.randint(len(pool), (k,), generator=g)]

    members = [("h", 1, 0), ("distill", 1, 0), ("h", 3, 1), ("distill", 2, 2)]   # (loss, g_steps, seed)
    nets_of = []
    for _, _, s in members:
        torch.manual_seed(s)
        nets_of.append((nets.mlp(2, 2, hidden=16, depth=2), nets.mlp(2, 1, hidden=16, depth=2)))
    kw = dict(z_dim=2, iters=15, h="ns", eps=0.05, batch=32, lr_d=2e-3, lr_g=2e-3, betas=(0.5, 0.999),
              record_every=5)
    import copy
    run = train_monoflow_stacked(EnsembleMLP.stack([copy.deepcopy(g) for g, _ in nets_of]),
                                 EnsembleMLP.stack([copy.deepcopy(d) for _, d in nets_of]), real,
                                 loss=[m[0] for m in members], g_steps=[m[1] for m in members],
                                 streams=[m[2] for m in members], **kw)
    z = torch.randn(256, 2, generator=torch.Generator().manual_seed(9))
    worst = 0.0
    for j, ((loss, k, s), (G, D)) in enumerate(zip(members, nets_of)):
        alone = train_monoflow(G, D, real, loss=loss, g_steps=k, seed=s, **kw)
        with torch.no_grad():
            worst = max(worst, float((run.G.member(j)(z) - alone.G(z)).abs().max()),
                        float((run.D.member(j)(z) - alone.D(z)).abs().max()))
    assert worst <= STACKED_TOL, worst
    assert run.history["step"] == [0, 5, 10, 15]
