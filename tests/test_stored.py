"""gantools.stored: stored benchmark results and their provenance check."""
import json

import pytest

from gantools import digits, energy, ensemble, ign, stored


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


STORED_BY = {  # result: the code its benchmark records (as the notebook showing it checks)
    "part2_ablation_25gaussians": (energy.train_engan, energy.mode_balance),
    "part2_ablation_8gaussians": (energy.train_engan, energy.mode_balance),
    "part2_entropy_25gaussians": (energy.train_engan, energy.mode_balance),
    "part2_recipe_seeds_25gaussians": (energy.train_engan, energy.mode_balance),
    "part4_architectures": (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder),
    "part4_dose_response": (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder),
    "part4_ign_vs_gan": (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder, digits.gan_pair,
                         ensemble.train_gan_stacked),
}


@pytest.mark.parametrize("name", sorted(STORED_BY))
def test_shown_results_are_stored_and_current(name):
    """Every stored table a notebook shows exists and came from this checkout's code; after an edit
    of that code this fails until its benchmark (benchmarks/) has been run again."""
    assert name in stored.names()
    res = stored.load(name)
    assert stored.is_current(res, *STORED_BY[name]), f"{name} is stale: rerun its benchmark in benchmarks/"
    assert res["code"] == [f"{o.__module__}.{o.__qualname__}" for o in STORED_BY[name]]
