import json
import math

import pytest

from cvkit.core.claims import (CLAIMS_MIME, NOT_CHECKABLE, NOT_REPRODUCED, REPRODUCED, Claim, ClaimLedger,
                               claims_bundle, claims_from_notebook, claims_html, claims_markdown, format_number,
                               format_threshold, judge)


@pytest.mark.parametrize("measured,comparison,threshold,verdict", [
    (1.0, ">=", 1.0, REPRODUCED), (0.99, ">=", 1.0, NOT_REPRODUCED), (1.0, ">", 1.0, NOT_REPRODUCED),
    (0.5, "<=", 0.5, REPRODUCED), (0.4, "<", 0.5, REPRODUCED), (2, "between", (1, 3), REPRODUCED),
    (3.5, "between", (1, 3), NOT_REPRODUCED), (math.nan, ">=", 0.0, NOT_REPRODUCED), (math.inf, "<=", 1.0, NOT_REPRODUCED),
])
def test_judge(measured, comparison, threshold, verdict):
    assert judge(measured, comparison, threshold) == verdict


def test_judge_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown comparison"):
        judge(1.0, "==", 1.0)
    with pytest.raises(ValueError, match="between"):
        judge(1.0, "between", (3, 1))
    with pytest.raises(ValueError, match="finite number"):
        judge(1.0, ">=", math.nan)
    with pytest.raises(ValueError, match="finite number"):
        judge(1.0, ">=", (1, 2))
    with pytest.raises(TypeError, match="must be a number"):
        judge("high", ">=", 1.0)


def test_formatting():
    assert format_number(None) == "—"
    assert format_number(0.123456) == "0.1235"
    assert format_threshold(">=", 0.9) == "≥ 0.9"
    assert format_threshold("<", 2) == "< 2"
    assert format_threshold("between", (0.1, 0.2)) == "in [0.1, 0.2]"
    assert format_threshold(None, None) == "—"


def make_ledger():
    ledger = ClaimLedger("unit", "smoke", show_each=False)
    ledger.check("a", "A holds", "Tab. 1", "0.9", "acc", 0.95, ">=", 0.9)
    ledger.check("b", "B does not hold here", "Fig. 2", "2×", "ratio", 1.2, ">=", 2.0, expected=NOT_REPRODUCED,
                 note="too small a model")
    ledger.not_checkable("c", "C needs ImageNet", "Tab. 3", "80%", "top-1", reason="no ImageNet at smoke")
    return ledger


def test_ledger_records_and_judges():
    ledger = make_ledger()
    verdicts = {c.id: (c.verdict, c.holds) for c in ledger.claims}
    assert verdicts == {"a": (REPRODUCED, True), "b": (NOT_REPRODUCED, True), "c": (NOT_CHECKABLE, True)}
    assert ledger.all_hold
    ledger.assert_all_hold()


def test_ledger_detects_claims_that_do_not_hold():
    ledger = make_ledger()
    ledger.check("a", "A holds", "Tab. 1", "0.9", "acc", 0.5, ">=", 0.9)  # regressed
    ledger.check("b", "B", "Fig. 2", "2×", "ratio", 3.0, ">=", 2.0, expected=NOT_REPRODUCED)  # flipped
    assert [c.id for c in ledger.claims if not c.holds] == ["a", "b"]
    with pytest.raises(AssertionError, match="a: not reproduced.*b: reproduced"):
        ledger.assert_all_hold()


def test_check_all_records_from_tables():
    texts = {k: (f"claim {k}", "Tab. 1", "1.0", "ratio") for k in "abcd"}
    thresholds = {"a": (">=", 1.0, REPRODUCED), "b": (">=", 1.0, NOT_REPRODUCED), "c": ("<=", 0.5, REPRODUCED),
                  "d": (">=", 0.0, REPRODUCED)}
    values = {"a": 1.5, "b": 0.25, "c": 0.5123, "d": math.nan}
    ledger = ClaimLedger("unit", "laptop", show_each=False)
    out = ledger.check_all(values, texts, thresholds, too_close={"c": "seeds straddle it"},
                           notes={"a": "ignored: reproduced", "b": "too small a model"}, digits=3)
    assert [(c.id, c.verdict) for c in out] == [("a", REPRODUCED), ("b", NOT_REPRODUCED), ("c", NOT_CHECKABLE),
                                                ("d", NOT_CHECKABLE)]
    assert [c.note for c in out] == ["", "too small a model", "measured 0.512; seeds straddle it",
                                     "the run it needs is not part of the laptop configuration"]
    assert out[1].threshold == 1.0 and out[1].expected == NOT_REPRODUCED and ledger.all_hold
    # a regression shows up as a claim that does not hold
    values["a"] = 0.9
    ledger.check_all(values, texts, thresholds, too_close={"c": "seeds straddle it"})
    assert [c.id for c in ledger.claims if not c.holds] == ["a"]
    with pytest.raises(KeyError):
        ledger.check_all({}, texts, thresholds)


def test_rerecording_replaces():
    ledger = make_ledger()
    ledger.check("a", "A holds", "Tab. 1", "0.9", "acc", 0.97, ">=", 0.9)
    assert [c.id for c in ledger.claims] == ["b", "c", "a"] and ledger.claims[-1].measured == 0.97


def test_ledger_rejects_bad_input():
    ledger = ClaimLedger("unit", "smoke", show_each=False)
    with pytest.raises(ValueError, match="expected verdict"):
        ledger.check("x", "s", "r", "v", "m", 1.0, ">=", 0.0, expected="maybe")
    with pytest.raises(ValueError, match="non-empty id"):
        ledger.check(" ", "s", "r", "v", "m", 1.0, ">=", 0.0)
    with pytest.raises(ValueError, match="needs a reason"):
        ledger.not_checkable("x", "s", "r", "v", "m", reason="")
    with pytest.raises(ValueError, match="unknown comparison"):
        ledger.check("x", "s", "r", "v", "m", 1.0, "=>", 0.0)


def test_claim_roundtrip_and_tables():
    ledger = make_ledger()
    dicts = [c.to_dict() for c in ledger.claims]
    assert json.loads(json.dumps(dicts)) == dicts
    assert [Claim.from_dict(d) for d in dicts] == ledger.claims
    md = claims_markdown(ledger.claims)
    assert md.count("\n") == 4 and "✅" in md and "no ImageNet at smoke" in md
    html = claims_html(dicts)
    assert "<b>a</b>" in html and "cvkit-claims" in html
    assert claims_markdown([]) == "_No claims recorded._"


def test_markdown_escapes_pipes():
    ledger = ClaimLedger("unit", "smoke", show_each=False)
    ledger.check("p", "uses |x| norms", "r", "v", "m", 1.0, ">=", 0.0)
    assert "\\|x\\|" in claims_markdown(ledger.claims)


def test_claims_roundtrip_through_an_executed_notebook_structure():
    ledger = make_ledger()
    bundle = claims_bundle(ledger.claims, "unit", "table")
    assert set(bundle) == {CLAIMS_MIME, "text/html", "text/markdown", "text/plain"}
    later = ClaimLedger("unit", "smoke", show_each=False)
    later.check("a", "A holds", "Tab. 1", "0.9", "acc", 0.1, ">=", 0.9)
    nb = {"cells": [
        {"cell_type": "markdown", "source": "x"},
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": bundle},
                                          {"output_type": "stream", "text": "hi"}]},
        {"cell_type": "code", "outputs": [{"output_type": "display_data",
                                           "data": {CLAIMS_MIME: json.dumps(claims_bundle(later.claims, "unit", "claim")[CLAIMS_MIME])}}]},
    ]}
    found = claims_from_notebook(nb)
    assert [c["id"] for c in found] == ["a", "b", "c"]
    assert found[0]["measured"] == 0.1 and found[0]["holds"] is False
    assert claims_from_notebook({"cells": []}) == []


def test_per_claim_display_is_one_line():
    from cvkit.core.claims import claim_line

    ledger = make_ledger()
    lines = [claim_line(c) for c in ledger.claims]
    assert lines[0] == "✓ a: reproduced — measured 0.95, threshold ≥ 0.9"
    assert lines[2].startswith("✓ c: not checkable at smoke scale — no ImageNet")
    bundle = claims_bundle(ledger.claims[:1], "unit", "claim")
    assert bundle["text/plain"].count("\n") == 0 and "<table" not in bundle["text/html"]
    assert bundle[CLAIMS_MIME]["claims"][0]["id"] == "a"
