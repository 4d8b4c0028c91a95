"""gantools.stored: stored benchmark results and their provenance check."""
import importlib.util
import json
import pathlib
import runpy
import sys

import pytest

from gantools import energy, stored

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _f(x):
    return x + 1


def _g(x):
    return x * 2


def _f_documented(x):
    """Same code as _f, with a docstring."""
    # and a comment
    return x + 1  # here too


def _f_other_default(x, k=2):
    return x + k


def _f_default(x, k=1):
    return x + k


def test_sha_ignores_docstrings_comments_and_layout():
    # the name of the function is part of its code; rename to compare bodies only
    strip = lambda o: stored._code_text(o).replace(o.__name__, "F")  # noqa: E731
    assert strip(_f) == strip(_f_documented)
    assert stored._code_text(_f_default) != stored._code_text(_f_other_default)
    assert stored.source_sha1(_f_default) != stored.source_sha1(_f_other_default)


def test_sha_depends_on_the_code_and_its_order():
    assert stored.source_sha1(_f) != stored.source_sha1(_g)
    assert stored.source_sha1(_f, _g) != stored.source_sha1(_g, _f)
    assert len(stored.source_sha1(_f)) == 40
    with pytest.raises(ValueError, match="at least one"):
        stored.source_sha1()


def test_save_load_and_is_current(tmp_path, monkeypatch):
    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    out = stored.save("unit_test-1", {"rows": [1, 2]}, code=[_f], settings={"steps": 3})
    assert out == tmp_path / "unit_test-1.json"
    res = stored.load("unit_test-1")
    assert res["rows"] == [1, 2] and res["code"] == [f"{__name__}._f"]
    assert res["settings"] == {"steps": 3} and res["command"].startswith("python ")
    assert stored.is_intact(res) and stored.is_current(res, _f)
    assert not stored.is_current(res, _g)          # other code: stale
    assert not stored.is_current({"rows": []}, _f)  # no provenance: never current
    assert stored.names() == ["unit_test-1"]
    with pytest.raises(ValueError, match="reserved"):
        stored.save("unit_test-2", {"digest": 1}, code=[_f])


def test_an_edited_record_is_neither_intact_nor_current(tmp_path, monkeypatch):
    """Numbers, settings or the command edited by hand: the digest no longer matches."""
    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    stored.save("unit_test-3", {"steps": 2000, "rows": [{"hq": 0.5}, {"hq": 0.7}]}, code=[_f],
                settings={"steps": 2000})
    res = stored.load("unit_test-3")
    assert stored.is_current(res, _f)
    for edit in (lambda r: r["rows"][1].update(hq=0.9), lambda r: r.update(steps=100),
                 lambda r: r["settings"].update(steps=100), lambda r: r.update(command="python x.py"),
                 lambda r: r.pop("digest")):
        bad = json.loads(json.dumps(res))
        edit(bad)
        assert not stored.is_intact(bad) and not stored.is_current(bad, _f)


def test_save_refuses_numbers_from_code_edited_during_the_run(tmp_path, monkeypatch):
    import os
    import time
    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    try:
        (tmp_path / "_probe_edit.py").write_text("def fn(x):\n    return x + 1\n")
        spec = importlib.util.spec_from_file_location("gantools._probe_edit", tmp_path / "_probe_edit.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["gantools._probe_edit"] = module
        spec.loader.exec_module(module)
        import gantools
        monkeypatch.setattr(gantools, "_IMPORTED_AT", time.time() + 1)  # "imported" after the file was written
        stored.save("unit_test-4", {"x": 1}, code=[module.fn])          # untouched since import: fine
        later = time.time() + 5
        os.utime(tmp_path / "_probe_edit.py", (later, later))          # edited while "running"
        with pytest.raises(RuntimeError, match="_probe_edit.py changed on disk"):
            stored.save("unit_test-4", {"x": 1}, code=[module.fn])
    finally:
        sys.modules.pop("gantools._probe_edit", None)


def test_moved_code_keeps_its_sha_and_is_found(tmp_path):
    """The SHA-1 keys code by its name without the module, and code_of finds code that moved."""
    src = "def moved_fn(x):\n    return x + 41\n"
    shas = []
    try:
        for mod in ("gantools._probe_a", "gantools._probe_b"):
            (tmp_path / f"{mod}.py").write_text(src)
            spec = importlib.util.spec_from_file_location(mod, tmp_path / f"{mod}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod] = module
            spec.loader.exec_module(module)
            shas.append(stored.source_sha1(module.moved_fn))
    finally:
        for mod in ("gantools._probe_a", "gantools._probe_b"):
            sys.modules.pop(mod, None)
    assert shas[0] == shas[1]
    # a function recorded under a module that no longer defines it is found where it lives now
    assert stored.code_of({"code": ["gantools.nowhere.source_sha1"]}) == [stored.source_sha1]


def test_bad_names(tmp_path, monkeypatch):
    monkeypatch.setattr(stored, "_folder", lambda: tmp_path)
    with pytest.raises(ValueError, match="letters, digits"):
        stored.path("../escape")
    (tmp_path / "there.json").write_text(json.dumps({}))
    with pytest.raises(ValueError, match="stored: there"):
        stored.load("missing")


@pytest.mark.parametrize("name", stored.names())
def test_shipped_results_carry_provenance(name):
    res = stored.load(name)
    assert len(res["source_sha1"]) == 40 and res["code"]


# a module of gantools written twice: the closure of `top` must follow `helper` and `SCALE`
_PROBE = """
SCALE = {scale}


def helper(x):
    {doc}
    return x * SCALE + {shift}{comment}


def top(x):
    return helper(x) + 1
"""


def _probe(tmp_path, version, **kw):
    folder = tmp_path / version
    folder.mkdir()
    src = _PROBE.format(**{"scale": 2, "shift": 0, "doc": '"""doc"""', "comment": "", **kw})
    (folder / "_probe.py").write_text(src)
    spec = importlib.util.spec_from_file_location("gantools._probe", folder / "_probe.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gantools._probe"] = module
    spec.loader.exec_module(module)
    return stored.source_sha1(module.top), stored.code_closure(module.top)


def test_closure_follows_helpers_and_constants(tmp_path):
    try:
        base, closure = _probe(tmp_path, "base")
        assert list(closure) == ["gantools._probe.top", "gantools._probe.helper", "gantools._probe:SCALE"]
        assert _probe(tmp_path, "docs", doc='"""other words"""', comment="  # a comment")[0] == base
        assert _probe(tmp_path, "helper", shift=1)[0] != base      # a changed helper counts
        assert _probe(tmp_path, "constant", scale=3)[0] != base    # a changed constant counts
    finally:
        sys.modules.pop("gantools._probe", None)


def test_closure_tells_module_level_lambdas_apart(tmp_path):
    src = "A = lambda x: x + 1\nB = lambda x: x * {k}\n\n\ndef top(x):\n    return A(x) + B(x)\n"
    shas = []
    try:
        for k in (2, 3):
            (tmp_path / f"v{k}").mkdir()
            (tmp_path / f"v{k}" / "_probe.py").write_text(src.format(k=k))
            spec = importlib.util.spec_from_file_location("gantools._probe", tmp_path / f"v{k}" / "_probe.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules["gantools._probe"] = module
            spec.loader.exec_module(module)
            assert list(stored.code_closure(module.top)) == ["gantools._probe.top", "gantools._probe:A",
                                                              "gantools._probe:B"]
            shas.append(stored.source_sha1(module.top))
    finally:
        sys.modules.pop("gantools._probe", None)
    assert shas[0] != shas[1]


def test_closure_of_the_energy_gan_reaches_its_parts():
    closure = stored.code_closure(energy.train_engan, energy.engan_balance)
    for part in ("gantools.ensemble.EnsembleMLP", "gantools.ensemble.MemberOptimizer", "gantools.nets:ACTIVATIONS",
                 "gantools.data.mode_centers", "gantools.entropy.jsd_mi_lower_bound"):
        assert part in closure
    assert not any(k.startswith("torch") for k in closure)


def test_code_of_and_missing_code():
    res = {"code": ["gantools.energy.train_engan"], "source_sha1": stored.source_sha1(energy.train_engan)}
    res["digest"] = stored.digest(res)
    assert stored.code_of(res) == [energy.train_engan] and stored.is_current(res)
    gone = {**res, "code": ["gantools.energy.no_such_function"]}
    with pytest.raises(ValueError, match="no_such_function"):
        stored.code_of(gone)
    assert not stored.is_current(gone)
    with pytest.raises(ValueError, match="records no code"):
        stored.code_of({})


def _script(res):
    return ROOT / res["command"].split()[1]


@pytest.mark.parametrize("name", stored.names())
def test_shipped_results_are_intact_current_and_spot_checkable(name):
    """Every stored table is intact (its digest matches its numbers, settings and command), records
    the code its benchmark declares (CODE), came from this checkout's code, and its script says how
    CI reruns one cell of it (spot_check). After an edit of that code (or of anything in gantools it
    reaches) this fails until the benchmark (benchmarks/) has been run again."""
    res = stored.load(name)
    assert stored.is_intact(res), f"{name} was edited after it was written (digest mismatch)"
    script = _script(res)
    assert script.is_file() and script.parent.name == "benchmarks", res["command"]
    ns = runpy.run_path(str(script), run_name="not_main")
    code = ns["CODE"]
    assert res["code"] == [f"{o.__module__}.{o.__qualname__}" for o in code]
    assert stored.is_current(res, *code), f"{name} is stale: rerun {res['command']}"
    assert stored.is_current(res)
    spec = ns["spot_check"](res)
    cell = spec["values"](res)
    assert cell and all(isinstance(v, (int, float)) for v in cell.values())


_FAKE_BENCH = """
import argparse, sys
sys.path.insert(0, {root!r})
from gantools import stored

def work(seed, steps):
    return (seed * 7 + steps) % 11 / 10

CODE = (work,)

def spot_check(record):
    seed = record["settings"]["seeds"][-1]
    return dict(argv=["--seeds", str(seed), "--steps", str(record["settings"]["steps"])],
                values=lambda r: {{"hq": r["hq"][str(seed)]}}, tol={{"hq": 0.01}})

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    stored.save("fake_bench", {{"hq": {{str(s): work(s, args.steps) for s in args.seeds}}}}, code=CODE,
                settings=vars(args))
"""


def test_spot_check_reruns_one_cell_and_catches_an_edit(tmp_path, monkeypatch):
    import subprocess
    spec = importlib.util.spec_from_file_location("spot_check_tool", ROOT / "tools" / "spot_check.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    bench = tmp_path / "fake_bench.py"
    bench.write_text(_FAKE_BENCH.format(root=str(ROOT)))
    results = tmp_path / "results"
    env = {**__import__("os").environ, stored.RESULTS_DIR_ENV: str(results)}
    subprocess.run([sys.executable, str(bench)], check=True, env=env, cwd=ROOT)
    monkeypatch.setattr(stored, "_folder", lambda: results)
    rec = stored.load("fake_bench")
    assert rec["command"].endswith("fake_bench.py")
    ok, _ = tool.spot(str("fake_bench"))
    assert ok
    rec["hq"]["2"] += 0.2                      # an edited number ...
    rec["digest"] = stored.digest(rec)         # ... even with a recomputed digest
    (results / "fake_bench.json").write_text(json.dumps(rec))
    ok, _ = tool.spot("fake_bench")
    assert not ok
