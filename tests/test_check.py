"""gantools.check: claims print, record and fail loudly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gantools import check
from gantools.check import ClaimError, claim, format_value


def test_a_claim_that_holds_prints_and_is_recorded(capsys):
    n = len(check.LEDGER)
    c = claim("two and two make four", 2 + 2 == 4, total=4, tol=0)
    assert check.LEDGER[-1] is c and len(check.LEDGER) == n + 1
    assert c.measured == {"total": "4"} and c.tolerance == {"tol": "0"}
    assert capsys.readouterr().out.strip() == "✓ two and two make four — total=4; tol=0"


def test_a_claim_that_fails_raises_with_the_measured_values():
    n = len(check.LEDGER)
    with pytest.raises(ClaimError, match=r"claim failed: the error is small — measured: err=0\.5; tol=0\.001"):
        claim("the error is small", 0.5 < 1e-3, err=0.5, tol=1e-3)
    assert len(check.LEDGER) == n
    assert issubclass(ClaimError, AssertionError)


@pytest.mark.parametrize("ok", [torch.tensor(True), np.bool_(True), np.array([True]), torch.tensor([1.0]) > 0])
def test_one_element_tensors_and_arrays_are_conditions(ok):
    claim("a one-element condition", ok)


@pytest.mark.parametrize("ok", [torch.tensor([True, False]), np.array([True, True])])
def test_a_condition_with_several_elements_is_refused(ok):
    with pytest.raises(ValueError, match="one truth value"):
        claim("ambiguous", ok)


def test_bad_text_and_condition_types_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        claim("  ", True)
    with pytest.raises(TypeError, match="must be a bool"):
        claim("a string is not a condition", "yes")


def test_tolerance_keys():
    c = claim("keys", True, a=1.0, bound=2.0, tol_rel=0.1, limit=3, threshold=4, tolerance_like=5)
    assert set(c.tolerance) == {"bound", "tol_rel", "limit", "threshold"}
    assert set(c.measured) == {"a", "tolerance_like"}


def test_format_value():
    assert format_value(0.123456789) == "0.1235"
    assert format_value(torch.tensor(2.5)) == "2.5"
    assert format_value(np.float64(1e-12)) == "1e-12"
    assert format_value([1, 2.0, True]) == "[1, 2, True]"
    assert format_value(torch.tensor([0.5, 0.25])) == "[0.5, 0.25]"
    assert format_value(float("nan")) == "nan"
    assert format_value({"a": 1.23456}) == "{a: 1.235}"


def test_html_output_carries_the_claim_for_the_ledger():
    import html
    import json

    c = check.Claim("x < y <b>", {"x": "1"}, {"tol": "2"})
    out = check._Display(c)._repr_html_()
    assert 'class="gantools-claim"' in out and "&lt;b&gt;" in out
    data = json.loads(html.unescape(out.split('data-claim="')[1].split('"')[0]))
    assert data == {"text": "x < y <b>", "measured": {"x": "1"}, "tolerance": {"tol": "2"}}
