"""gantools.stored: stored benchmark results and their provenance check."""
import json

import pytest

from gantools import energy, stored


def _f(x):
    return x + 1


def _g(x):
    return x * 2


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


def test_part2_results_match_the_code():
    """The stored Part II tables were produced by the energy GAN code of this checkout."""
    for name in ("part2_ablation_25gaussians", "part2_entropy_25gaussians"):
        if name in stored.names():
            assert stored.is_current(stored.load(name), energy.train_engan, energy.mode_balance), (
                f"{name} is stale: rerun its benchmark (benchmarks/part2_*.py)")
