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
    out = stored.save("unit_test-1", {"rows": [1, 2]}, code=[_f])
    assert out == tmp_path / "unit_test-1.json"
    res = stored.load("unit_test-1")
    assert res["rows"] == [1, 2] and res["code"] == [f"{__name__}._f"]
    assert stored.is_current(res, _f)
    assert not stored.is_current(res, _g)          # other code: stale
    assert not stored.is_current({"rows": []}, _f)  # no provenance: never current
    assert stored.names() == ["unit_test-1"]


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
    for part in ("gantools.ensemble.EnsembleMLP", "gantools.energy._MaskedAdam", "gantools.nets:ACTIVATIONS",
                 "gantools.data.mode_centers", "gantools.entropy.jsd_mi_lower_bound"):
        assert part in closure
    assert not any(k.startswith("torch") for k in closure)


def test_code_of_and_missing_code():
    res = {"code": ["gantools.energy.train_engan"], "source_sha1": stored.source_sha1(energy.train_engan)}
    assert stored.code_of(res) == [energy.train_engan] and stored.is_current(res)
    gone = {**res, "code": ["gantools.energy.no_such_function"]}
    with pytest.raises(ValueError, match="no_such_function"):
        stored.code_of(gone)
    assert not stored.is_current(gone)
    with pytest.raises(ValueError, match="records no code"):
        stored.code_of({})


STORED_BY = {  # result: the benchmark script that writes it; its CODE is what the result must record
    "part2_ablation_25gaussians": "part2_ablation.py",
    "part2_ablation_8gaussians": "part2_ablation.py",
    "part2_entropy_25gaussians": "part2_entropy.py",
    "part2_recipe_seeds_25gaussians": "part2_ablation.py",
    "part4_architectures": "part4_architectures.py",
    "part4_dose_response": "part4_dose_response.py",
    "part4_ign_vs_gan": "part4_ign_vs_gan.py",
}


@pytest.mark.parametrize("name", sorted(STORED_BY))
def test_shown_results_are_stored_and_current(name):
    """Every stored table a notebook shows exists, records the code its benchmark declares, and came
    from this checkout's code; after an edit of that code (or of anything in gantools it reaches)
    this fails until its benchmark (benchmarks/) has been run again."""
    assert name in stored.names()
    res = stored.load(name)
    code = runpy.run_path(str(ROOT / "benchmarks" / STORED_BY[name]), run_name="not_main")["CODE"]
    assert res["code"] == [f"{o.__module__}.{o.__qualname__}" for o in code]
    assert stored.is_current(res, *code), f"{name} is stale: rerun benchmarks/{STORED_BY[name]}"
    assert stored.is_current(res)
