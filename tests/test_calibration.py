"""gantools.calibration: the Clopper-Pearson bound and the probability that a live claim fails."""
import math

import numpy as np
import pytest

from gantools import calibration as cal


@pytest.mark.parametrize("n", [1, 9, 60, 300])
def test_bound_without_failures_is_closed_form(n):
    assert cal.fail_rate_bound(n, n, 0.95) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-10)


def test_bound_covers_the_true_rate_with_its_confidence():
    # the bound must lie above the true failure rate in at least 95% of stored runs
    rng = np.random.default_rng(0)
    for q, n in [(0.02, 60), (0.1, 30), (0.3, 9)]:
        fails = rng.binomial(n, q, size=4000)
        covered = np.mean([cal.fail_rate_bound(n - f, n) >= q for f in fails])
        assert covered >= 0.95, (q, n, covered)
    # and it is not vacuous: for q = 0.1, n = 30 it misses sometimes (Clopper-Pearson is tight-ish)
    fails = rng.binomial(30, 0.1, size=4000)
    assert np.mean([cal.fail_rate_bound(30 - f, 30) >= 0.1 for f in fails]) < 0.999


def test_claim_fail_probability_is_the_binomial_sum():
    q, s = 0.13, 5
    for r in range(1, s + 1):
        brute = sum(math.comb(s, k) * (1 - q) ** k * q ** (s - k) for k in range(r))
        assert cal.claim_fail_probability(q, s, r) == pytest.approx(brute, rel=1e-12)
    assert cal.claim_fail_probability(0.0, 3, 3) == 0.0
    assert cal.claim_fail_probability(1.0, 3, 1) == 1.0


def test_calibrate_and_strongest_need():
    c = cal.calibrate(60, 60, live_seeds=3, need=2)
    assert c.claim_fail_bound == pytest.approx(cal.claim_fail_probability(c.fail_rate_bound, 3, 2))
    assert c.claim_fail_bound < 0.01 < cal.calibrate(60, 60, live_seeds=3).claim_fail_bound  # 2 of 3, not 3 of 3
    assert cal.strongest_need(60, 60, 3) == 2
    assert cal.strongest_need(9, 9, 3) == 0         # nine seeds cannot back any claim on three at 99%
    assert cal.strongest_need(30, 30, 2) == 1
    assert "Clopper-Pearson" in c.describe() and "60 of 60" in c.describe()
    assert c.holds_with == pytest.approx(1 - c.claim_fail_bound)


@pytest.mark.parametrize("args, match", [((5, 4), "passed <= runs"), ((-1, 4), "passed <= runs"), ((0, 0), "runs >= 1")])
def test_bad_counts(args, match):
    with pytest.raises(ValueError, match=match):
        cal.fail_rate_bound(*args)


def test_bad_arguments():
    with pytest.raises(TypeError, match="integers"):
        cal.fail_rate_bound(2.5, 4)
    with pytest.raises(ValueError, match="confidence"):
        cal.fail_rate_bound(3, 4, confidence=1.0)
    with pytest.raises(ValueError, match="need must be"):
        cal.calibrate(3, 4, live_seeds=3, need=4)
    with pytest.raises(ValueError, match="live_seeds"):
        cal.claim_fail_probability(0.1, 0, 1)
    with pytest.raises(ValueError, match="target"):
        cal.strongest_need(3, 4, 3, target=1.0)


def test_seed_claim_holds_only_when_live_and_stored_agree():
    from gantools.check import ClaimError

    c = cal.seed_claim("converges", [True, True, False], "1" * 100, need=2)
    assert c.need == 2 and c.claim_fail_bound < 0.01
    with pytest.raises(ClaimError):                       # the live seeds missed
        cal.seed_claim("converges", [True, False, False], "1" * 100, need=2)
    with pytest.raises(ClaimError):                       # 100 clean seeds cannot back "every one of three"
        cal.seed_claim("converges", [True, True, True], [True] * 100)
    assert cal.seed_claim("converges", [True] * 3, [True] * 1000).need == 3   # 1,000 can
    with pytest.raises(ValueError, match="only '0' and '1'"):
        cal.seed_claim("converges", [True], "10x")
    with pytest.raises(ValueError, match="at least one seed"):
        cal.seed_claim("converges", [], "1")


def test_seed_condition_reads_its_runs_and_claims_against_a_stored_record():
    from gantools.check import ClaimError

    cond = cal.SeedCondition("x is positive", ("run",), lambda o: {"pass": o["run"] > 0, "x": o["run"]})
    live = cond({"run": np.array([1.0, 2.0, -1.0])})
    assert live["pass"].tolist() == [True, True, False]
    with pytest.raises(ValueError, match="do not hold"):
        cond({"other": np.zeros(3)})
    record = {"passes": "1" * 100}
    assert cal.condition_claim(cond, live, record, need=2).need == 2
    with pytest.raises(ClaimError):                       # only two of three live seeds pass
        cal.condition_claim(cond, live, record)


def test_calibration_table_backs_the_strongest_claim_per_record():
    conds = {"a": cal.SeedCondition("a | b", ("run",), lambda o: o), "c": cal.SeedCondition("c", ("run",), lambda o: o)}
    big = {"seeds": list(range(1000)), "conditions": {"a": {"passed": 1000, "values": {"v": [0.1, 0.2]}}}}
    small = {"seeds": list(range(100)), "conditions": {"c": {"passed": 60, "values": {}}}}
    table, backed = cal.calibration_table(conds, [(big, 3), (small, 3)])
    assert backed == {"a": 3, "c": 0}
    assert backed["a"] == cal.strongest_need(1000, 1000, 3) and cal.strongest_need(60, 100, 3) == 0
    lines = table.splitlines()
    assert len(lines) == 4 and "a \\| b" in lines[2] and "1000 of 1000" in lines[2] and "none (a rate)" in lines[3]
    assert all(line.count(" | ") == 4 for line in lines[2:])   # five columns: the escaped \\| does not split a cell


def test_apply_conditions_and_verdicts_in_chunks_equal_one_call():
    conds = {"pos": cal.SeedCondition("x > 0", ("run",), lambda o: {"pass": o["run"] > 0, "x": o["run"]}),
             "big": cal.SeedCondition("x > 2", ("run",), lambda o: {"pass": o["run"] > 2, "x": o["run"]})}
    x = {s: float(s) - 2.5 for s in range(7)}          # a seed's outcome depends on its seed only
    verdicts = lambda seeds: cal.apply_conditions(conds, {"run": np.array([x[s] for s in seeds])})  # noqa: E731
    lines = []
    chunked = cal.verdicts_in_chunks(verdicts, range(7), 3, progress=lines.append)
    whole = verdicts(list(range(7)))
    assert set(chunked) == {"pos", "big"} and len(lines) == 3 and lines[-1].startswith("seeds 6-6")
    for name in conds:
        for key in whole[name]:
            assert np.array_equal(chunked[name][key], whole[name][key])
    assert cal.condition_record(chunked)["pos"]["passes"] == "0001111"
    with pytest.raises(ValueError, match="reads runs"):
        cal.apply_conditions(conds, {"other": np.zeros(2)})
    with pytest.raises(ValueError, match="chunk >= 1"):
        cal.verdicts_in_chunks(verdicts, range(3), 0)
    with pytest.raises(ValueError, match="at least one seed"):
        cal.verdicts_in_chunks(verdicts, [], 2, progress=None)


def test_condition_record_and_its_first_seeds():
    res = {"c": {"pass": np.array([True, False, True, True]), "x": np.array([1.0, np.nan, 3.0, -2.0])}}
    rec = cal.condition_record(res)
    assert rec == {"c": {"passes": "1011", "passed": 3, "values": {"x": [-2.0, 3.0]}}}
    assert cal.first_seeds_passing({"conditions": rec}, 2) == {"c": 1}
    assert cal.first_seeds_passing({"conditions": rec}, 10) == {"c": 3}


def test_claim_ledger_compares_what_each_check_asked_with_what_is_backed():
    from gantools.check import ClaimError

    conds = {"pos": cal.SeedCondition("x is positive", ("run",), lambda o: {"pass": o["run"] > 0, "x": o["run"]})}
    live = {"pos": conds["pos"]({"run": np.array([1.0, 2.0, 3.0])})}
    clean = {"seeds": list(range(1000)), "conditions": {"pos": {"passes": "1" * 1000, "passed": 1000, "values": {}}}}
    one_off = {"seeds": list(range(1000)),
               "conditions": {"pos": {"passes": "0" + "1" * 999, "passed": 999, "values": {}}}}
    ledger = cal.ClaimLedger(conds)
    assert ledger.claim("pos", live, clean, need=3).need == 3
    ledger.table([(clean, 3)])
    ledger.check_asked_what_is_backed()                   # asked 3, 1,000 clean seeds back 3
    modest = cal.ClaimLedger(conds)
    modest.claim("pos", live, clean, need=2)               # asks for less than the count backs
    modest.table([(clean, 3)])
    with pytest.raises(ClaimError):
        modest.check_asked_what_is_backed()
    greedy = cal.ClaimLedger(conds)
    with pytest.raises(ClaimError):                      # one failure in 1,000 does not back every one of three
        greedy.claim("pos", live, one_off, need=3)
    with pytest.raises(ValueError, match="pos"):
        ledger.claim("neg", live, clean, need=3)
    with pytest.raises(ValueError, match="stored run"):
        ledger.claim("pos", live, {"seeds": [0], "conditions": {}}, need=1)
    fresh = cal.ClaimLedger(conds)
    fresh.claim("pos", live, clean, need=3)
    with pytest.raises(ValueError, match="table"):
        fresh.check_asked_what_is_backed()


def test_first_seeds_spot_check_counts_the_first_seeds_within_one():
    spec = cal.first_seeds_spot_check(["--n-seeds", 3], 3)
    assert spec["argv"] == ["--n-seeds", "3"] and spec["tol"] == {"*": 1}
    rec = {"conditions": {"c": {"passes": "11011", "passed": 4, "values": {}}}}
    assert spec["values"](rec) == {"c": 2}
    with pytest.raises(ValueError):
        cal.first_seeds_spot_check([], 0)


def test_first_seeds_spot_check_widens_with_the_stored_pass_rate():
    rec = {"seeds": list(range(900)), "conditions": {"always": {"passes": "1" * 900, "passed": 900},
                                                      "half": {"passes": "10" * 450, "passed": 450},
                                                      "rare": {"passes": "1" * 9 + "0" * 891, "passed": 9}}}
    spec = cal.first_seeds_spot_check(["--n-seeds", "10"], 10, rec)
    assert spec["tol"] == {"always": 1, "half": 5, "rare": 1}       # 3 sqrt(10 p (1 - p)), at least one
    assert spec["values"](rec) == {"always": 10, "half": 5, "rare": 9}


def test_first_chunk_spot_check_reruns_the_first_chunk():
    rec = {"chunk": 2, "seeds": [7, 8, 9, 10, 11], "conditions": {"c": {"passes": "10111", "passed": 4, "values": {}}}}
    spec = cal.first_chunk_spot_check(rec, "--jobs", "1")
    assert spec["argv"] == ["--n-seeds", "2", "--chunk", "2", "--jobs", "1"]
    assert spec["values"](rec) == {"c": 1} and spec["tol"] == {"c": 2}      # 3 sqrt(2 * 0.8 * 0.2) = 1.7


def test_store_chunked_verdicts_writes_the_record(tmp_path, monkeypatch, capsys):
    import json

    from gantools import stored

    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    conds = {"pos": cal.SeedCondition("x > 0", ("run",), lambda o: {"pass": o["run"] > 0, "x": o["run"]})}
    verdicts = lambda seeds: cal.apply_conditions(conds, {"run": np.array([s - 1.5 for s in seeds])})  # noqa: E731
    path = cal.store_chunked_verdicts("probe", verdicts, range(4), 3, code=(cal.apply_conditions,), settings={"n": 4})
    rec = json.loads(path.read_text())
    assert rec["seeds"] == [0, 1, 2, 3] and rec["chunk"] == 3 and rec["jobs"] == 1
    assert rec["conditions"]["pos"]["passes"] == "0011" and rec["settings"] == {"n": 4}
    assert rec["cpu_seconds"] >= 0 and "pos: 2 of 4" in capsys.readouterr().out


def test_seed_benchmark_main_parses_and_stores(tmp_path, monkeypatch):
    import json

    from gantools import stored

    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    conds = {"pos": cal.SeedCondition("x > 0", ("run",), lambda o: {"pass": o["run"] > 0})}
    verdicts = lambda seeds: cal.apply_conditions(conds, {"run": np.array([s - 11.5 for s in seeds])})  # noqa: E731
    path = cal.seed_benchmark_main("probe", verdicts, doc="probe", code=(cal.apply_conditions,), chunk=2, first_seed=10,
                                   argv=["--n-seeds", "4"])
    rec = json.loads(path.read_text())
    assert rec["seeds"] == [10, 11, 12, 13] and rec["chunk"] == 2 and rec["jobs"] == 1
    assert rec["settings"] == {"n_seeds": 4, "chunk": 2} and rec["conditions"]["pos"]["passes"] == "0011"
    for bad in (["--chunk", "0"], ["--jobs", "0"]):
        with pytest.raises(SystemExit):
            cal.seed_benchmark_main("probe", verdicts, doc="probe", code=(cal.apply_conditions,), chunk=2, jobs=2, argv=bad)
