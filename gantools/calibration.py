r"""How often a claim about a training outcome holds over seeds: binomial bounds from a stored run.

A check cell that trains a few seeds live and claims something about their outcome ("at least
two of the three seeds capture 24 modes") is a statement about *random* seeds: on another CPU the
last bits of every step round differently and the same seed number is, in effect, a new seed. The
claim is only worth checking if it holds with high probability over seeds. This module turns a
stored many-seed run of the same training into that probability.

Let each seed pass the per-seed condition independently with probability :math:`1-q`. A stored
run of :math:`n` seeds with :math:`f` failures bounds :math:`q` from above with the one-sided
Clopper--Pearson bound at confidence :math:`\gamma`,

.. math:: \bar q = B^{-1}_{f+1,\;n-f}(\gamma) \qquad (\bar q = 1 - (1-\gamma)^{1/n}\ \text{when } f = 0),

with :math:`B^{-1}_{a,b}` the quantile function of the Beta distribution. A live claim "at least
:math:`r` of :math:`s` seeds pass" fails with probability

.. math:: P_{\text{fail}}(q) = P\big(\mathrm{Bin}(s, 1-q) < r\big) = \sum_{k=0}^{r-1}\binom{s}{k}(1-q)^k q^{s-k},

which increases with :math:`q`, so :math:`P_{\text{fail}}(\bar q)` bounds it from above with
confidence :math:`\gamma`. The book keeps a live claim only when that bound is at most 1%.

Examples
--------
>>> from gantools.calibration import calibrate
>>> c = calibrate(passed=60, runs=60, live_seeds=3, need=2)
>>> round(c.fail_rate_bound, 4), c.claim_fail_bound < 0.01
(0.0487, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from scipy import stats as _stats

__all__ = ["SeedCalibration", "calibrate", "claim_fail_probability", "fail_rate_bound", "strongest_need", "seed_claim",
           "SeedCondition", "apply_conditions", "verdicts_in_chunks", "store_chunked_verdicts", "seed_benchmark_main", "condition_claim", "calibration_table",
           "condition_record", "first_seeds_passing", "first_seeds_spot_check", "first_chunk_spot_check", "ClaimLedger"]

TARGET: float = 0.99
"""The probability over seeds with which the book's live claims about training outcomes must hold."""


def _counts(passed: int, runs: int) -> tuple[int, int]:
    if isinstance(passed, bool) or isinstance(runs, bool) or int(passed) != passed or int(runs) != runs:
        raise TypeError(f"passed and runs must be integers, got {passed!r} and {runs!r}")
    passed, runs = int(passed), int(runs)
    if runs < 1 or not 0 <= passed <= runs:
        raise ValueError(f"need 0 <= passed <= runs and runs >= 1, got passed={passed}, runs={runs}")
    return passed, runs


def _prob(x: float, name: str, *, open_interval: bool = True) -> float:
    x = float(x)
    if not (0 < x < 1 if open_interval else 0 <= x <= 1):
        raise ValueError(f"{name} must lie in {'(0, 1)' if open_interval else '[0, 1]'}, got {x}")
    return x


def fail_rate_bound(passed: int, runs: int, confidence: float = 0.95) -> float:
    r"""One-sided Clopper--Pearson upper bound :math:`\bar q` on the per-seed failure probability.

    Parameters
    ----------
    passed, runs : int
        Seeds of the stored run that passed the per-seed condition, and seeds run.
    confidence : float
        :math:`\gamma`: the bound holds with this confidence (default 0.95).

    Returns
    -------
    float
        :math:`\bar q` (1.0 when no seed passed).

    Raises
    ------
    ValueError
        If the counts are impossible or ``confidence`` is not in (0, 1).
    """
    passed, runs = _counts(passed, runs)
    confidence = _prob(confidence, "confidence")
    failures = runs - passed
    if passed == 0:
        return 1.0
    return float(_stats.beta.ppf(confidence, failures + 1, passed))


def claim_fail_probability(q: float, live_seeds: int, need: int) -> float:
    r""":math:`P(\mathrm{Bin}(s, 1-q) < r)`: a claim "at least ``need`` of ``live_seeds`` pass" fails.

    Parameters
    ----------
    q : float
        Per-seed failure probability, in [0, 1].
    live_seeds : int
        :math:`s`, the seeds the check cell trains.
    need : int
        :math:`r`, how many of them the claim needs (``1 <= need <= live_seeds``).

    Returns
    -------
    float
    """
    q = _prob(q, "q", open_interval=False)
    if int(live_seeds) != live_seeds or live_seeds < 1:
        raise ValueError(f"live_seeds must be a positive integer, got {live_seeds!r}")
    if int(need) != need or not 1 <= need <= live_seeds:
        raise ValueError(f"need must be an integer in [1, live_seeds={live_seeds}], got {need!r}")
    return float(_stats.binom.cdf(int(need) - 1, int(live_seeds), 1.0 - q))


@dataclass(frozen=True)
class SeedCalibration:
    """A live claim "at least ``need`` of ``live_seeds`` seeds pass", calibrated on a stored run.

    Attributes
    ----------
    passed, runs : int
        The stored run's passing seeds and seeds.
    confidence : float
        Confidence of the Clopper--Pearson bound.
    fail_rate_bound : float
        :math:`\\bar q`, the upper bound on one seed's failure probability.
    live_seeds, need : int
        The live claim: at least ``need`` of ``live_seeds`` seeds pass.
    claim_fail_bound : float
        Upper bound on the probability that the live claim fails on fresh seeds.
    """

    passed: int
    runs: int
    confidence: float
    fail_rate_bound: float
    live_seeds: int
    need: int
    claim_fail_bound: float

    @property
    def holds_with(self) -> float:
        """Lower bound on the probability over seeds that the live claim holds."""
        return 1.0 - self.claim_fail_bound

    def describe(self) -> str:
        """The calculation in one sentence, for the notebook."""
        return (f"{self.passed} of {self.runs} stored seeds pass, so one seed fails with probability at most "
                f"{self.fail_rate_bound:.3f} (one-sided Clopper-Pearson bound, {self.confidence:.0%} confidence); "
                f"then fewer than {self.need} of {self.live_seeds} fresh seeds pass with probability at most "
                f"{self.claim_fail_bound:.4f}, so the claim holds with probability at least {self.holds_with:.4f}")


def calibrate(passed: int, runs: int, *, live_seeds: int, need: int | None = None,
              confidence: float = 0.95) -> SeedCalibration:
    """Calibrate the live claim "at least ``need`` of ``live_seeds`` seeds pass" on a stored run.

    Parameters
    ----------
    passed, runs : int
        Seeds of the stored many-seed run that pass the per-seed condition, and seeds run.
    live_seeds : int
        Seeds the check cell trains.
    need : int, optional
        Seeds the claim needs to pass (default all of them).
    confidence : float
        Confidence of the bound on the per-seed failure probability.

    Returns
    -------
    SeedCalibration
    """
    need = live_seeds if need is None else need
    q = fail_rate_bound(passed, runs, confidence)
    p = claim_fail_probability(q, live_seeds, need)
    return SeedCalibration(passed=int(passed), runs=int(runs), confidence=float(confidence), fail_rate_bound=q,
                           live_seeds=int(live_seeds), need=int(need), claim_fail_bound=p)


def strongest_need(passed: int, runs: int, live_seeds: int, *, target: float = TARGET,
                   confidence: float = 0.95) -> int:
    """The largest ``need`` whose claim "at least ``need`` of ``live_seeds`` pass" holds with ``target``.

    Parameters
    ----------
    passed, runs, live_seeds : int
        As in :func:`calibrate`.
    target : float
        The probability over seeds the claim must hold with (default :data:`TARGET`).
    confidence : float
        Confidence of the bound on the per-seed failure probability.

    Returns
    -------
    int
        In ``0..live_seeds``; 0 means no such claim can be made from this stored run.
    """
    target = _prob(target, "target")
    q = fail_rate_bound(passed, runs, confidence)
    for need in range(int(live_seeds), 0, -1):
        if claim_fail_probability(q, live_seeds, need) <= 1 - target:
            return need
    return 0


def seed_claim(text: str, live: Sequence[bool], stored: Sequence[bool] | str, *, need: int | None = None,
               target: float = TARGET, confidence: float = 0.95, **measured) -> SeedCalibration:
    """Check a per-seed claim on the live seeds, calibrated on a stored many-seed run.

    The claim holds when at least ``need`` of the live seeds pass **and** the stored run bounds the
    probability that this fails on fresh seeds by ``1 - target`` (:func:`calibrate`). So a check cell
    that calls it fails on either of two grounds: the live seeds missed, or the stored run cannot
    back a claim of that strength (then ask for fewer seeds, or store more).

    Parameters
    ----------
    text : str
        The per-seed condition in words; the claim reads "<text>, in at least <need> of <s> seeds".
    live : sequence of bool
        Whether each live seed passes.
    stored : sequence of bool or str
        Whether each seed of the stored run passes (a string of ``"1"``/``"0"`` is accepted).
    need : int, optional
        Live seeds that must pass (default all of them).
    target, confidence : float
        The probability the claim must hold with, and the confidence of the per-seed bound.
    **measured
        Further measured values for the claim's line (e.g. the per-seed numbers compared).

    Returns
    -------
    SeedCalibration

    Raises
    ------
    gantools.check.ClaimError
        If fewer than ``need`` live seeds pass or the stored run does not back the claim.
    ValueError
        If ``live`` or ``stored`` is empty or ``stored`` is a string of other characters.
    """
    from .check import claim

    if isinstance(stored, str):
        if not stored or set(stored) - {"0", "1"}:
            raise ValueError(f"a stored pass string holds only '0' and '1', got {stored[:20]!r}")
        stored = [c == "1" for c in stored]
    live_ok, stored_ok = np.asarray(live, dtype=bool).ravel(), np.asarray(stored, dtype=bool).ravel()
    if live_ok.size == 0 or stored_ok.size == 0:
        raise ValueError("live and stored must each hold at least one seed")
    s = int(live_ok.size)
    cal = calibrate(int(stored_ok.sum()), int(stored_ok.size), live_seeds=s, need=need, confidence=confidence)
    limit = 1 - _prob(target, "target")
    claim(f"{text}, in at least {cal.need} of {s} seeds" if cal.need < s else f"{text}, in every seed ({s})",
          int(live_ok.sum()) >= cal.need and cal.claim_fail_bound <= limit,
          live_passed=int(live_ok.sum()), stored_passed=f"{cal.passed} of {cal.runs}", fail_bound=cal.claim_fail_bound,
          limit=limit, **measured)
    return cal


@dataclass(frozen=True)
class SeedCondition:
    """A claim about how one seed's runs end, decided from their outcomes, one verdict per seed.

    A check cell applies it to the outcomes of its few live seeds; a benchmark applies the same
    condition to a stored many-seed run, whose pass count :func:`seed_claim` turns into the
    probability that the live claim fails.

    Attributes
    ----------
    text : str
        The condition in words.
    runs : tuple of str
        The runs (keys of the outcomes) it reads.
    test : callable
        ``test(outcomes)``, ``outcomes`` a dict run name -> that run's outcomes (the same seeds in
        every run), returns a dict holding ``"pass"``, a bool array with one entry per seed, and
        the per-seed numbers the condition compares (named arrays of the same length).
    """

    text: str
    runs: tuple[str, ...]
    test: Callable[[dict], dict]

    def __call__(self, outcomes: dict) -> dict:
        """``test(outcomes)``, after checking that the runs it reads are there.

        Raises
        ------
        ValueError
            If ``outcomes`` lacks a run the condition reads.
        """
        missing = [r for r in self.runs if r not in outcomes]
        if missing:
            raise ValueError(f"the condition reads runs {missing} that the outcomes do not hold ({sorted(outcomes)})")
        return self.test(outcomes)


def apply_conditions(conditions: dict[str, SeedCondition], outcomes: dict) -> dict[str, dict]:
    """Every condition applied to one set of outcomes: what a check cell claims and a benchmark stores.

    Parameters
    ----------
    conditions : dict of str to SeedCondition
        The conditions by name.
    outcomes : dict
        Run name -> that run's outcomes (the same seeds in every run).

    Returns
    -------
    dict of str to dict
        Condition name -> its result: ``"pass"`` (one bool per seed) and the numbers it compares.

    Raises
    ------
    ValueError
        If a condition reads a run that ``outcomes`` lacks.
    """
    return {name: c(outcomes) for name, c in conditions.items()}


def verdicts_in_chunks(verdicts: Callable[[list[int]], dict[str, dict]], seeds: Sequence[int], chunk: int, *,
                       jobs: int = 1, progress: Callable[[str], None] | None = print) -> dict[str, dict]:
    """A page's condition verdicts over many seeds, ``chunk`` seeds per call (what a seed benchmark stores).

    Parameters
    ----------
    verdicts : callable
        ``verdicts(seeds)`` runs the page's experiments for ``seeds`` (side by side) and returns
        :func:`apply_conditions`'s result for them.
    seeds : sequence of int
    chunk : int
        Seeds per call.
    jobs : int
        Processes; each takes whole chunks (started with ``spawn``, at this process's torch thread
        count), so the result does not depend on it. With more than one, ``verdicts`` must be a
        module-level function (it is pickled).
    progress : callable or None
        Called with one line per chunk (seeds done, seconds so far); ``None`` is silent.

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` and the compared numbers, concatenated over the chunks in
        the order of ``seeds`` (:func:`condition_record` turns it into the stored form).

    Raises
    ------
    ValueError
        If ``seeds`` is empty, or ``chunk`` or ``jobs`` is below 1.
    """
    import multiprocessing
    import time

    import torch

    seeds = [int(s) for s in seeds]
    if not seeds or int(chunk) < 1 or int(jobs) < 1:
        raise ValueError(f"need at least one seed, chunk >= 1 and jobs >= 1, got {len(seeds)} seeds, chunk={chunk}, "
                         f"jobs={jobs}")
    chunks = [seeds[lo:lo + int(chunk)] for lo in range(0, len(seeds), int(chunk))]
    t0, parts = time.perf_counter(), []
    pool = (multiprocessing.get_context("spawn").Pool(int(jobs), initializer=torch.set_num_threads,
                                                      initargs=(torch.get_num_threads(),)) if int(jobs) > 1 else None)
    try:
        for part, out in zip(chunks, map(verdicts, chunks) if pool is None else pool.imap(verdicts, chunks)):
            parts.append(out)
            if progress is not None:
                progress(f"seeds {part[0]}-{part[-1]}: {time.perf_counter() - t0:.0f} s")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return {name: {key: np.concatenate([np.asarray(p[name][key]) for p in parts]) for key in parts[0][name]}
            for name in parts[0]}


def store_chunked_verdicts(name: str, verdicts: Callable[[list[int]], dict[str, dict]], seeds: Sequence[int],
                           chunk: int, *, code: Sequence[Callable], settings: dict, jobs: int = 1):
    """Run :func:`verdicts_in_chunks` over ``seeds``, print each condition's count and store the record.

    What a seed benchmark does: the stored record (:func:`gantools.stored.save` under ``name``)
    holds the seeds, ``chunk``, ``jobs``, the torch thread count, :func:`condition_record` of the
    verdicts, and the wall and CPU seconds (the worker processes' CPU included).

    Parameters
    ----------
    name : str
        The stored record's name.
    verdicts, seeds, chunk, jobs
        As in :func:`verdicts_in_chunks`.
    code : sequence of function
        The code the numbers come from (:func:`gantools.stored.save`).
    settings : dict
        The benchmark's arguments, stored with the record.

    Returns
    -------
    pathlib.Path
        Where the record was written.
    """
    import time

    import torch

    from . import stored

    seeds = [int(s) for s in seeds]
    t0, c0 = time.perf_counter(), time.process_time()
    results = verdicts_in_chunks(verdicts, seeds, chunk, jobs=jobs, progress=lambda line: print(line, flush=True))
    cpu = time.process_time() - c0
    if int(jobs) > 1:                      # the worker processes have ended: count their CPU time too
        import resource

        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += kids.ru_utime + kids.ru_stime
    conditions = condition_record(results)
    for cond, c in conditions.items():
        print(f"{cond}: {c['passed']} of {len(seeds)}", flush=True)
    path = stored.save(name, dict(seeds=seeds, chunk=int(chunk), jobs=int(jobs), conditions=conditions,
                                  threads=torch.get_num_threads(), wall_seconds=time.perf_counter() - t0,
                                  cpu_seconds=cpu), code=code, settings=settings)
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")
    return path


def seed_benchmark_main(name: str, verdicts: Callable[[list[int]], dict[str, dict]], *, doc: str, code: Sequence[Callable],
                        chunk: int, jobs: int | None = None, n_seeds: int = 900, first_seed: int = 1000,
                        argv: Sequence[str] | None = None):
    """The command line of a chunked seed benchmark: parse ``--n-seeds``, ``--chunk`` (and ``--jobs``), then
    :func:`store_chunked_verdicts` over ``n_seeds`` fresh seeds from ``first_seed`` on, one torch thread each.

    Parameters
    ----------
    name : str
        The stored record's name.
    verdicts : callable
        ``verdicts(seeds)``, as in :func:`verdicts_in_chunks`.
    doc : str
        The benchmark's docstring (the ``--help`` text).
    code : sequence of function
        The code the numbers come from (:func:`gantools.stored.save`).
    chunk : int
        Default seeds per call.
    jobs : int, optional
        Default processes; ``None`` gives the benchmark no ``--jobs`` option (one process).
    n_seeds, first_seed : int
        Default number of seeds, and the first seed (fresh seeds: the notebooks' live seeds lie below it).
    argv : sequence of str, optional
        The arguments (default: the command line).

    Returns
    -------
    pathlib.Path
        Where the record was written.
    """
    import argparse

    import torch

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-seeds", type=int, default=n_seeds)
    ap.add_argument("--chunk", type=int, default=chunk, help="seeds side by side per batched call")
    if jobs is not None:
        ap.add_argument("--jobs", type=int, default=jobs, help="processes, each taking whole chunks")
    args = ap.parse_args(argv)
    if min(vars(args).values()) < 1:
        ap.error(f"{', '.join('--' + k.replace('_', '-') for k in vars(args))} must be at least 1")
    torch.set_num_threads(1)
    return store_chunked_verdicts(name, verdicts, range(first_seed, first_seed + args.n_seeds), args.chunk, code=code,
                                  settings=vars(args), jobs=getattr(args, "jobs", 1))


def condition_claim(condition: SeedCondition, live: dict, stored: dict, *, need: int | None = None,
                    target: float = TARGET, confidence: float = 0.95) -> SeedCalibration:
    """:func:`seed_claim` for a :class:`SeedCondition`: its live result against its stored record.

    Parameters
    ----------
    condition : SeedCondition
    live : dict
        The condition's result on the live outcomes (``"pass"`` and the numbers it compares, which
        the claim's line shows).
    stored : dict
        The stored run's entry for the condition: ``"passes"``, one ``"1"``/``"0"`` per stored seed.
    need, target, confidence
        As in :func:`seed_claim`.

    Returns
    -------
    SeedCalibration
    """
    return seed_claim(condition.text, live["pass"], stored["passes"], need=need, target=target, confidence=confidence,
                      **{k: v for k, v in live.items() if k != "pass"})


def calibration_table(conditions: dict[str, SeedCondition], records: Sequence[tuple[dict, int]], *,
                      target: float = TARGET, confidence: float = 0.95) -> tuple[str, dict[str, int]]:
    """Every stored condition, its pass count and the strongest live claim that count backs.

    Parameters
    ----------
    conditions : dict of str to SeedCondition
        The conditions by name (their text heads each row).
    records : sequence of (dict, int)
        Stored runs (each with ``"seeds"`` and ``"conditions"``: name -> ``"passed"``, ``"values"``
        as ``[min, max]`` per compared number) and the number of live seeds their claims speak of.
    target, confidence : float
        As in :func:`strongest_need`.

    Returns
    -------
    table : str
        A Markdown table, one row per stored condition.
    backed : dict of str to int
        Condition -> the strongest ``need`` its count backs (0: none, a rate).
    """
    rows = ["| condition | stored seeds passing | numbers compared (range over the stored seeds) | "
            "strongest live claim | its failure bound |", "|---|---|---|---|---|"]
    backed: dict[str, int] = {}
    for record, live_seeds in records:
        n = len(record["seeds"])
        for name, c in record["conditions"].items():
            backed[name] = need = strongest_need(c["passed"], n, live_seeds, target=target, confidence=confidence)
            vals = "; ".join(f"{k} {lo:.3g} – {hi:.3g}" for k, (lo, hi) in c["values"].items())
            words = ("none (a rate)" if need == 0 else f"every one of {live_seeds} seeds" if need == live_seeds
                     else f"{need} of {live_seeds} seeds")
            bound = (f"{calibrate(c['passed'], n, live_seeds=live_seeds, need=need, confidence=confidence).claim_fail_bound:.4f}"
                     if need else "–")
            text = conditions[name].text.replace("|", r"\|")   # a literal | inside a table cell
            rows.append(f"| {text} | {c['passed']} of {n} | {vals} | {words} | {bound} |")
    return "\n".join(rows), backed


def condition_record(results: dict[str, dict]) -> dict[str, dict]:
    """Per-seed condition results in the form a stored many-seed run keeps them.

    Parameters
    ----------
    results : dict of str to dict
        Condition name -> its result on the stored seeds (``"pass"`` and the compared numbers).

    Returns
    -------
    dict of str to dict
        Condition name -> ``passes`` (one ``"1"``/``"0"`` per seed, in order), ``passed`` (their
        count) and ``values`` (``[min, max]`` over the seeds of each compared number, NaN ignored).
    """
    out = {}
    for name, res in results.items():
        ok = np.asarray(res["pass"], dtype=bool).ravel()
        out[name] = {"passes": "".join("1" if v else "0" for v in ok), "passed": int(ok.sum()),
                     "values": {k: [float(np.nanmin(v)), float(np.nanmax(v))] for k, v in res.items() if k != "pass"}}
    return out


def first_seeds_passing(record: dict, k: int) -> dict[str, int]:
    """How many of a stored run's first ``k`` seeds pass each condition (a spot check reruns them).

    Parameters
    ----------
    record : dict
        A stored run with ``"conditions"`` as :func:`condition_record` writes them.
    k : int
        Seeds counted from the first.

    Returns
    -------
    dict of str to int
    """
    return {name: c["passes"][:k].count("1") for name, c in record["conditions"].items()}


class ClaimLedger:
    """The calibrated claims of one page: each check asks for a number of live seeds, the ledger keeps it.

    A page's check cells claim per-seed conditions on their few live seeds, each calibrated on a
    stored many-seed run (:func:`condition_claim`); the page's last check compares what each one
    asked for with the strongest claim its stored count backs (:func:`calibration_table`), so a
    check can neither ask for more than its count backs nor quietly for less.

    Parameters
    ----------
    conditions : dict of str to SeedCondition
        The page's conditions by name.

    Attributes
    ----------
    asked : dict of str to int
        Condition -> live seeds its check asked for, in the order the checks ran.
    backed : dict of str to int
        Condition -> the strongest ``need`` its stored count backs (filled by :meth:`table`).
    """

    def __init__(self, conditions: dict[str, SeedCondition]):
        self.conditions = dict(conditions)
        self.asked: dict[str, int] = {}
        self.backed: dict[str, int] = {}

    def claim(self, name: str, live: dict[str, dict], record: dict, *, need: int, target: float = TARGET,
              confidence: float = 0.95) -> SeedCalibration:
        """Claim condition ``name`` on the live seeds (at least ``need`` of them), calibrated on ``record``.

        Parameters
        ----------
        name : str
            A key of ``conditions``.
        live : dict of str to dict
            Condition name -> its result on the live outcomes (``"pass"`` and the numbers compared).
        record : dict
            The stored many-seed run (its ``"conditions"`` as :func:`condition_record` writes them).
        need : int
            Live seeds that must pass.
        target, confidence : float
            As in :func:`seed_claim`.

        Returns
        -------
        SeedCalibration

        Raises
        ------
        ValueError
            If ``name`` is not one of the conditions (the message lists them) or the live results or
            the stored run lack it.
        gantools.check.ClaimError
            If the claim fails (:func:`seed_claim`).
        """
        if name not in self.conditions:
            raise ValueError(f"unknown condition {name!r}; valid: {sorted(self.conditions)}")
        for where, holder in (("the live results", live), ("the stored run", record.get("conditions", {}))):
            if name not in holder:
                raise ValueError(f"{where} hold no condition {name!r} (they hold {sorted(holder)})")
        cal = condition_claim(self.conditions[name], live[name], record["conditions"][name], need=need,
                              target=target, confidence=confidence)
        self.asked[name] = cal.need
        return cal

    def table(self, records: Sequence[tuple[dict, int]], *, target: float = TARGET,
              confidence: float = 0.95) -> str:
        """:func:`calibration_table` of the page's conditions; keeps what each count backs in :attr:`backed`.

        Parameters
        ----------
        records : sequence of (dict, int)
            Stored runs and the number of live seeds their claims speak of.
        target, confidence : float

        Returns
        -------
        str
            The Markdown table.
        """
        table, self.backed = calibration_table(self.conditions, records, target=target, confidence=confidence)
        return table

    def check_asked_what_is_backed(self) -> None:
        """Claim that every check asked for exactly the strongest claim its stored count backs.

        Raises
        ------
        ValueError
            If :meth:`table` has not run or a checked condition is in none of its records.
        gantools.check.ClaimError
            If a check asked for more, or for less, than its count backs.
        """
        from .check import claim

        missing = [k for k in self.asked if k not in self.backed]
        if missing:
            raise ValueError(f"no stored count for {missing}: call table() with the records the checks used")
        claim("every live check above asks for exactly the strongest claim its stored count backs",
              bool(self.asked) and all(self.backed[k] == v for k, v in self.asked.items()), checks=len(self.asked),
              mismatches={k: (v, self.backed[k]) for k, v in self.asked.items() if self.backed[k] != v})


def first_seeds_spot_check(argv: Sequence[str], k: int, record: dict | None = None) -> dict:
    r"""The spot check of a stored many-seed run (``tools/spot_check.py``): rerun its first ``k`` seeds.

    The benchmark that wrote the run is called again with ``argv`` (which must make it train exactly
    its first ``k`` seeds); each condition's pass count over those seeds is compared with the stored
    one. On the kind of CPU that wrote the run the counts repeat, up to a seed that sits on a
    condition's threshold. On another kind the last bits of rounding differ and, over a long run, a
    seed is in effect a fresh seed: a condition that holds in about half the stored seeds can then
    flip in several of the ``k``. So with ``record`` each condition's tolerance is three binomial
    standard deviations of a count over ``k`` fresh seeds at its stored pass rate :math:`p`,
    :math:`\lceil 3\sqrt{k\,p(1-p)}\rceil`, and at least one seed; without it, one seed.

    Parameters
    ----------
    argv : sequence of str
        The benchmark's arguments for the rerun.
    k : int
        Seeds counted from the first.
    record : dict, optional
        The stored run, whose pass rates set the tolerances.

    Returns
    -------
    dict
        ``argv``, ``values`` (:func:`first_seeds_passing` of a record) and ``tol``, as
        ``tools/spot_check.py`` reads them.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    tol: dict[str, int] = {"*": 1}
    if record is not None:
        runs = len(record["seeds"])
        tol = {name: max(1, int(np.ceil(3 * np.sqrt(k * (c["passed"] / runs) * (1 - c["passed"] / runs)))))
               for name, c in record["conditions"].items()}
    return dict(argv=[str(a) for a in argv], values=lambda rec: first_seeds_passing(rec, k), tol=tol)


def first_chunk_spot_check(record: dict, *extra: str) -> dict:
    """:func:`first_seeds_spot_check` of a stored run made ``record["chunk"]`` seeds per call: its first chunk.

    The first chunk is trained again exactly as it was (the same seeds side by side), so the same
    numbers come back on the same kind of CPU; on another, seeds may flip, within the tolerances
    :func:`first_seeds_spot_check` sets from the record's pass rates. The benchmark is called with
    ``--n-seeds k --chunk k`` and ``extra``.

    Parameters
    ----------
    record : dict
        The stored run (with ``"chunk"``).
    *extra : str
        More arguments for the benchmark.

    Returns
    -------
    dict
        As :func:`first_seeds_spot_check`.
    """
    k = int(record["chunk"])
    return first_seeds_spot_check(["--n-seeds", str(k), "--chunk", str(k), *extra], k, record)
