"""The claims core: intervals, paired measurements, random streams, the decision rule, specs, the ledger, tables and
reading claims back from an executed notebook."""
import json
import math

import numpy as np
import pytest
import torch

from cvkit.core.claims import (seeded_init, CLAIMS_MIME, at_chance, ICONS, MIN_COMPARED_N, NOT_CHECKABLE, NOT_REPRODUCED, REPRODUCED, UNDECIDED,
                               Claim, ClaimLedger, ClaimSpec, Measurement, NotMeasured, ScaleRule, binomial_interval, bootstrap_ci,
                               checks_from_notebook, claims_bundle, claims_from_notebook, claims_html, claims_markdown,
                               claims_summary, decide, degenerate_reason, explanation_anchors, format_number,
                               format_threshold, mean_interval, missing_explanations, n_to_decide, numpy_stream, paired,
                               proportion, replicate_seeds, replicates, sanity_check, scale_rules, side_of, stream_seed, t_interval,
                               torch_stream, verdict_counts)


def spec(comparison=">=", threshold=0.0, expected=REPRODUCED, **kw) -> ClaimSpec:
    rules = {"smoke": (threshold, expected), "laptop": (threshold, expected), "gpu": (threshold, expected)}
    if expected in (NOT_REPRODUCED, UNDECIDED):
        kw.setdefault("explanation", "why-x")
    return ClaimSpec("x", "the treatment helps", "treatment − baseline", comparison, rules, **kw)


# ---------------------------------------------------------------- intervals

def test_t_interval_matches_scipy():
    from scipy import stats

    x = np.array([1.0, 2.5, 0.5, 3.0, 2.0])
    lo, hi = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert lo == pytest.approx(ref[0]) and hi == pytest.approx(ref[1])


def test_bootstrap_is_seeded_and_covers_the_mean():
    x = np.random.default_rng(1).normal(size=30)
    assert bootstrap_ci(x) == bootstrap_ci(x)
    lo, hi = bootstrap_ci(x)
    assert lo < x.mean() < hi


def test_interval_method_switches_at_thirty():
    assert mean_interval(np.arange(29.0))[1] == "t"
    assert mean_interval(np.arange(30.0))[1] == "bootstrap"


@pytest.mark.parametrize("bad,match", [([], "empty"), ([1.0, math.nan], "NaN"), ([[1.0, 2.0]], "1-D")])
def test_replicates_reject_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        replicates(bad)


def test_intervals_need_two_replicates():
    with pytest.raises(ValueError, match="at least 2"):
        t_interval([1.0])


# ---------------------------------------------------------------- measurements and streams

def test_paired_difference_and_ratio():
    d = paired([3.0, 4.0], [1.0, 2.0])
    assert d.values == (2.0, 2.0) and d.kind == "difference" and d.arms == {"treatment": (3.0, 4.0), "baseline": (1.0, 2.0)}
    r = paired([3.0, 4.0], [1.0, 2.0], kind="ratio", names=("A", "B"))
    assert r.values == (3.0, 2.0) and set(r.arms) == {"A", "B"}
    with pytest.raises(ValueError, match="one value per replicate"):
        paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        paired([1.0], [0.0], kind="ratio")
    with pytest.raises(ValueError, match="positive"):
        paired([-2.0, -2.2], [-1.0, -1.1], kind="ratio")
    with pytest.raises(ValueError, match="different arm names"):
        paired([1.0], [2.0], names=("x", "x"))
    with pytest.raises(ValueError, match="arm"):
        Measurement((1.0, 2.0), arms={"a": (1.0,)})
    with pytest.raises(ValueError, match="kind"):
        paired([1.0], [1.0], kind="log")


def test_replicate_seeds_never_overlap_between_runs():
    blocks = [set(replicate_seeds(s, 5)) for s in range(4)]
    assert all(not (a & b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert replicate_seeds(2, 3) == [2000, 2001, 2002]
    assert not set(replicate_seeds(0, 8)) & set(replicate_seeds(1, 3))  # disjoint whatever n each run uses
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            replicate_seeds(bad, 3)
    with pytest.raises(ValueError):
        replicate_seeds(0, 0)
    with pytest.raises(ValueError):
        replicate_seeds(0, 1001)


def test_streams_are_named_independent_and_reproducible():
    assert stream_seed(0, "order") == stream_seed(0, "order")
    assert len({stream_seed(0, "order"), stream_seed(0, "init"), stream_seed(1, "order")}) == 3
    assert torch.equal(torch.rand(4, generator=torch_stream(3, "init")), torch.rand(4, generator=torch_stream(3, "init")))
    assert numpy_stream(3, "noise").random() == numpy_stream(3, "noise").random()
    with pytest.raises(ValueError, match="name"):
        stream_seed(0, "")


def _train(seed: int, p_augment: float | None) -> float:
    """A tiny SGD run whose treatment (feature noise with probability p) draws only from its own stream."""
    data = torch.Generator().manual_seed(123)
    x = torch.randn(64, 3, generator=data)
    y = (x[:, 0] > 0).float()
    order, init, treatment = torch_stream(seed, "order"), torch_stream(seed, "init"), torch_stream(seed, "treatment")
    w = torch.randn(3, generator=init)
    for _ in range(20):
        idx = torch.randint(0, 64, (8,), generator=order)
        xb = x[idx]
        if p_augment is not None and torch.rand((), generator=treatment) < p_augment:
            xb = xb + torch.randn(xb.shape, generator=treatment)
        w = w - 0.3 * xb.T @ (torch.sigmoid(xb @ w) - y[idx]) / 8
    return float(torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y))


def test_identity_treatment_gives_a_paired_difference_of_exactly_zero():
    seeds = replicate_seeds(0, 6)
    identity = paired([_train(s, 0.0) for s in seeds], [_train(s, None) for s in seeds])
    assert identity.values == (0.0,) * 6
    real = paired([_train(s, 1.0) for s in seeds], [_train(s, None) for s in seeds])
    assert any(v != 0.0 for v in real.values)  # the real treatment does change the result
    # an identity comparison cannot decide a claim: two identical arms are degenerate, whatever the threshold
    c = decide(spec(">=", 0.0), identity, "smoke")
    assert c.verdict == UNDECIDED and "identical" in c.note


# ---------------------------------------------------------------- the rule

@pytest.mark.parametrize("interval,comparison,threshold,verdict", [
    ((1.0, 2.0), ">=", 1.0, REPRODUCED), ((0.5, 2.0), ">=", 1.0, UNDECIDED), ((0.1, 0.9), ">=", 1.0, NOT_REPRODUCED),
    ((1.0, 2.0), ">", 1.0, UNDECIDED), ((0.1, 1.0), ">", 1.0, NOT_REPRODUCED),
    ((0.1, 0.5), "<=", 0.5, REPRODUCED), ((0.6, 0.7), "<=", 0.5, NOT_REPRODUCED), ((0.4, 0.6), "<", 0.5, UNDECIDED),
    ((0.5, 0.7), "<", 0.5, NOT_REPRODUCED),
    ((1.5, 2.5), "between", (1, 3), REPRODUCED), ((3.5, 4.0), "between", (1, 3), NOT_REPRODUCED),
    ((2.5, 3.5), "between", (1, 3), UNDECIDED),
])
def test_side_of(interval, comparison, threshold, verdict):
    assert side_of(interval, comparison, threshold) == verdict


def test_rule_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="unknown comparison"):
        side_of((0, 1), "==", 1.0)
    with pytest.raises(ValueError, match="between"):
        side_of((0, 1), "between", (3, 1))
    with pytest.raises(ValueError, match="finite number"):
        side_of((0, 1), ">=", math.nan)


def test_decide_reproduced_not_reproduced_undecided():
    s = spec(">=", 1.0)
    assert decide(s, replicates([2.0, 2.1, 1.9, 2.05, 1.95]), "smoke").verdict == REPRODUCED
    assert decide(s, replicates([0.2, 0.1, 0.3, 0.15, 0.25]), "smoke").verdict == NOT_REPRODUCED
    c = decide(s, replicates([0.0, 2.5, 0.5, 2.0, 1.5]), "smoke")
    assert c.verdict == UNDECIDED and c.n_to_decide is not None and c.n_to_decide > 5
    assert c.ci[0] < 1.0 < c.ci[1] and c.n == 5 and c.method == "t"


def test_n_to_decide_is_consistent_with_the_rule():
    """At the predicted n, a sample with exactly the observed mean and sd is decided; one replicate fewer, it is not."""
    mean, sd, thr = 0.4, 1.0, 0.0
    n = n_to_decide(mean, sd, ">=", thr)
    from scipy import stats

    def half(k: int) -> float:
        return stats.t.ppf(0.975, k - 1) * sd / math.sqrt(k)

    assert half(n) < mean <= half(n - 1)
    for m, s_ in [(0.05, 1.0), (1.0, 3.0), (0.3, 0.1)]:  # the fewest, also at large n
        k = n_to_decide(m, s_, ">=", 0.0)
        assert stats.t.ppf(0.975, k - 1) * s_ / math.sqrt(k) < m <= stats.t.ppf(0.975, k - 2) * s_ / math.sqrt(k - 1) \
            or k == 2
    assert n_to_decide(mean, sd, ">=", mean) is None


def test_one_replicate_is_undecided():
    c = decide(spec(), replicates([5.0]), "smoke")
    assert c.verdict == UNDECIDED and "one replicate" in c.note


def test_degenerate_measurements_are_never_reproduced():
    s = spec("<=", 1.25)
    constant = paired([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], kind="ratio")  # ratio 1 ≤ 1.25 would "hold"
    c = decide(s, constant, "smoke")
    assert c.verdict == UNDECIDED and c.note.startswith("degenerate")
    guessing = paired([0.49, 0.51, 0.50, 0.52], [0.50, 0.49, 0.51, 0.50], kind="ratio", chance=0.5)
    c = decide(s, guessing, "smoke")
    assert c.verdict == UNDECIDED and "chance" in c.note
    separated = paired([0.9, 0.85, 0.88, 0.92], [0.50, 0.49, 0.51, 0.50], chance=0.5)
    assert degenerate_reason(separated) == "" and not at_chance(separated, (0.35, 0.42))
    assert decide(spec(">=", 0.0), replicates([3.0, 3.0, 3.0]), "smoke").verdict == UNDECIDED  # nothing varied
    assert "identical" in degenerate_reason(paired([0.7, 0.9], [0.7, 0.9]))


def test_constant_but_different_arms_are_decided_by_a_sign_test():
    """A baseline that copies on every replicate and a method that never does: not degenerate, but a zero-width
    interval is not evidence by itself: all n on one side decides only from n = 6 (2 · 0.5⁶ < 0.05)."""
    five = decide(spec(">=", 50.0), paired([100.0] * 5, [0.0] * 5), "laptop")
    assert five.verdict == UNDECIDED and five.n_to_decide == 6 and "sign test" in five.note
    six = decide(spec(">=", 50.0), paired([100.0] * 6, [0.0] * 6), "laptop")
    assert six.verdict == REPRODUCED and six.ci == (100.0, 100.0) and six.method == "sign test"
    # two equal paired differences with varying arms used to give a zero-width interval and decide on n = 2
    assert decide(spec(">", 0.0), paired([3.0, 5.0], [2.0, 4.0]), "smoke").verdict == UNDECIDED


def test_identical_arms_never_pass_an_at_least_as_good_claim():
    x = [0.7, 0.9, 0.8, 0.75, 0.85]
    for comparison in (">=", ">"):
        assert decide(spec(comparison, 0.0), paired(x, x), "laptop").verdict == UNDECIDED


def test_ratios_are_symmetric_on_the_log_scale():
    a, b = [2.0, 1.0] * 20, [1.0, 2.0] * 20
    s = spec(">", 1.0)
    assert decide(s, paired(a, b, kind="ratio"), "smoke").verdict == UNDECIDED
    assert decide(s, paired(b, a, kind="ratio"), "smoke").verdict == UNDECIDED
    c = decide(s, paired([2.0, 2.2, 1.9, 2.1], [1.0, 1.0, 1.0, 1.0], kind="ratio"), "smoke")
    assert c.verdict == REPRODUCED and "log scale" in c.method
    assert c.mean == pytest.approx(math.exp(np.mean(np.log([2.0, 2.2, 1.9, 2.1]))))  # the geometric mean
    with pytest.raises(ValueError, match="positive"):
        decide(spec(">", 0.0), paired([2.0, 2.2], [1.0, 1.0], kind="ratio"), "smoke")


def test_chance_respects_pairing():
    """Both arms straddle chance, but the treatment is better on every replicate: not a guessing evaluator."""
    base = [0.3, 0.7, 0.45, 0.6, 0.5]
    treat = [b + d for b, d in zip(base, [0.04, 0.05, 0.06, 0.05, 0.045])]
    c = decide(spec(">", 0.0), paired(treat, base, chance=0.5), "smoke")
    assert c.verdict == REPRODUCED
    guessing = paired([0.49, 0.52, 0.50, 0.51], [0.50, 0.51, 0.49, 0.52], chance=0.5)
    assert decide(spec(">=", -0.1), guessing, "smoke").verdict == UNDECIDED


def test_proportion_at_chance_is_degenerate_and_n_to_decide_is_fast():
    import time

    s = spec(">=", 0.3)
    c = decide(s, proportion([1, 0] * 50, chance=0.5), "smoke")
    assert c.verdict == UNDECIDED and "chance" in c.note
    c9 = decide(spec(">=", 0.9), proportion([1] * 9 + [0]), "smoke")
    assert c9.verdict == UNDECIDED and c9.n_to_decide is None  # the rate sits on the threshold: no n decides
    c8 = decide(spec(">=", 0.7), proportion([1] * 8 + [0] * 2), "smoke")
    assert c8.verdict == UNDECIDED and c8.n_to_decide > 10


def test_compared_claims_need_five_replicates_at_laptop_and_gpu():
    s = spec(">=", 0.0, compared=True)
    few = paired([1.0, 1.1, 0.9], [0.0, 0.1, 0.0])
    assert decide(s, few, "smoke").verdict == REPRODUCED
    for scale in ("laptop", "gpu"):
        c = decide(s, few, scale)
        assert c.verdict == UNDECIDED and f"n ≥ {MIN_COMPARED_N}" in c.note and c.n_to_decide >= MIN_COMPARED_N
        assert c.undecidable  # a pin on it could never fail: the runner reports it
    assert decide(s, few, "smoke").undecidable == ""
    assert decide(spec(), replicates([5.0]), "laptop").undecidable == "n = 1 at laptop"


def test_not_checkable_only_when_nothing_was_measured():
    c = decide(spec(), NotMeasured("the femurs are not installed"), "smoke")
    assert c.verdict == NOT_CHECKABLE and c.note == "the femurs are not installed" and c.mean is None
    with pytest.raises(ValueError, match="NaN"):  # a measured but broken value is an error, not "not checkable"
        decide(spec(), Measurement((math.nan, 1.0)), "smoke")
    with pytest.raises(TypeError, match="Measurement"):
        decide(spec(), 0.5, "smoke")
    with pytest.raises(ValueError, match="reason"):
        decide(spec(), NotMeasured(" "), "smoke")


# ---------------------------------------------------------------- specs

def test_scale_rules_shared_and_per_scale_thresholds():
    pins = {"smoke": UNDECIDED, "laptop": REPRODUCED, "gpu": NOT_REPRODUCED}
    assert scale_rules(pins, 2.0) == {"smoke": ScaleRule(2.0, UNDECIDED), "laptop": ScaleRule(2.0, REPRODUCED),
                                      "gpu": ScaleRule(2.0, NOT_REPRODUCED)}
    per = scale_rules(pins, {"smoke": -1.0, "laptop": 3.0, "gpu": 3.0})
    assert [per[s].threshold for s in ("smoke", "laptop", "gpu")] == [-1.0, 3.0, 3.0]
    between = scale_rules({"laptop": REPRODUCED}, (0.5, 1.5))
    assert ClaimSpec("b", "s", "m", "between", between).rule("laptop").threshold == (0.5, 1.5)
    # the result is what ClaimSpec accepts, and the tuple form gives the same spec
    a = ClaimSpec("a", "s", "m", ">=", scale_rules(pins, 2.0), explanation="why-a")
    b = ClaimSpec("a", "s", "m", ">=", {s: (2.0, v) for s, v in pins.items()}, explanation="why-a")
    assert a == b


def test_scale_rules_refuses_bad_input():
    with pytest.raises(ValueError, match="pins must give"):
        scale_rules({}, 0.0)
    with pytest.raises(ValueError, match="unknown scale"):
        scale_rules({"tiny": REPRODUCED}, 0.0)
    with pytest.raises(ValueError, match="verdicts must be one of"):
        scale_rules({"smoke": "passed"}, 0.0)
    with pytest.raises(ValueError, match="exactly the pinned scales"):
        scale_rules({"smoke": REPRODUCED, "laptop": REPRODUCED}, {"smoke": 0.0})
    with pytest.raises(ValueError, match="exactly the pinned scales"):
        scale_rules({"smoke": REPRODUCED}, {"smoke": 0.0, "gpu": 1.0})


def test_spec_normalises_and_validates():
    s = spec(">=", 1)
    assert s.rule("laptop") == ScaleRule(1.0, REPRODUCED)
    with pytest.raises(KeyError, match="no rule for scale"):
        ClaimSpec("a", "s", "m", ">=", {"smoke": (0.0, REPRODUCED)}).rule("gpu")
    with pytest.raises(ValueError, match="explanation"):
        ClaimSpec("a", "s", "m", ">=", {"smoke": (0.0, NOT_REPRODUCED)})
    with pytest.raises(ValueError, match="explanation"):
        ClaimSpec("a", "s", "m", ">=", {"smoke": (0.0, UNDECIDED)})
    with pytest.raises(ValueError, match="source"):
        ClaimSpec("a", "s", "m", ">=", {"smoke": (0.0, REPRODUCED)}, source="abstract")
    with pytest.raises(ValueError, match="unknown scale"):
        ClaimSpec("a", "s", "m", ">=", {"huge": (0.0, REPRODUCED)})
    with pytest.raises(ValueError, match="expected verdict"):
        ClaimSpec("a", "s", "m", ">=", {"smoke": (0.0, "holds")})
    with pytest.raises(ValueError, match="id"):
        ClaimSpec("two words", "s", "m", ">=", {"smoke": (0.0, REPRODUCED)})
    with pytest.raises(ValueError, match="between"):
        ClaimSpec("a", "s", "m", "between", {"smoke": ((2, 1), REPRODUCED)})


# ---------------------------------------------------------------- ledger, tables, summary

def make_ledger() -> ClaimLedger:
    ledger = ClaimLedger("unit", "smoke", show_each=False)
    specs = [ClaimSpec("a", "A helps", "gain, points", ">=", {"smoke": (0.0, REPRODUCED)}, paper_ref="Tab. 1",
                       paper_value="+3", source="paper-table", central=True, compared=True),
             ClaimSpec("b", "B is 2× faster", "speed-up", ">=", {"smoke": (2.0, NOT_REPRODUCED)}, paper_ref="Fig. 2",
                       paper_value="2×", explanation="why-b"),
             ClaimSpec("c", "C | needs ImageNet", "top-1", ">=", {"smoke": (0.8, NOT_CHECKABLE)}, source="not-retrieved")]
    ledger.check_specs({"a": paired([3.0, 2.5, 3.5, 3.2], [0.0, 0.1, 0.2, 0.0]),
                        "b": replicates([1.2, 1.1, 1.3]),
                        "c": NotMeasured("no ImageNet offline")}, specs)
    ledger.sanity("trains", "the loss falls", 0.1, "<", 1.0)
    return ledger


def test_ledger_records_and_judges():
    ledger = make_ledger()
    assert {c.id: (c.verdict, c.holds) for c in ledger.claims} == {
        "a": (REPRODUCED, True), "b": (NOT_REPRODUCED, True), "c": (NOT_CHECKABLE, True)}
    assert ledger.all_hold and ledger.checks[0].holds
    ledger.assert_all_hold()


def test_ledger_refuses_missing_or_extra_measurements():
    ledger = ClaimLedger("unit", "smoke", show_each=False)
    s = [spec()]
    with pytest.raises(KeyError, match="no measurement for"):
        ledger.check_specs({}, s)
    with pytest.raises(KeyError, match="no spec for"):
        ledger.check_specs({"x": replicates([1.0, 2.0]), "y": replicates([1.0, 2.0])}, s)
    with pytest.raises(ValueError, match="duplicate"):
        ledger.check_specs({"x": replicates([1.0, 2.0])}, s + s)


def test_ledger_detects_claims_off_their_pin_and_failed_checks():
    ledger = make_ledger()
    ledger.check_specs({"x": replicates([-1.0, -1.2, -0.9])}, [spec(">=", 0.0)])
    ledger.sanity("evaluator", "the evaluator beats chance", 0.1, ">=", 0.5)
    assert not ledger.all_hold
    with pytest.raises(AssertionError, match=r"x: not reproduced \(pinned reproduced") as e:
        ledger.assert_all_hold()
    assert "sanity check evaluator failed" in str(e.value)


def test_rerecording_replaces():
    ledger = make_ledger()
    ledger.check_specs({"x": replicates([1.0, 1.1])}, [spec()])
    ledger.check_specs({"x": replicates([2.0, 2.1])}, [spec()])
    assert [c.id for c in ledger.claims] == ["a", "b", "c", "x"] and ledger.claims[-1].mean == pytest.approx(2.05)


def test_summary_line():
    ledger = make_ledger()
    assert ledger.summary() == ("3 claims: ✅ 1 reproduced · ❌ 1 not reproduced · ➖ 1 not checkable; central: "
                                "reproduced; sanity checks 1/1 pass")
    assert verdict_counts(ledger.claims) == {REPRODUCED: 1, NOT_REPRODUCED: 1, UNDECIDED: 0, NOT_CHECKABLE: 1}
    off = decide(spec(">=", 5.0), replicates([1.0, 1.1, 0.9]), "smoke")
    assert "1 differs from the pinned verdict" in claims_summary([off])


def test_table_icons_and_pin_marks():
    """Each verdict has its own icon; a pinned 'not reproduced' is never shown with a green tick."""
    md = claims_markdown(make_ledger().claims)
    rows = {line.split("**")[1]: line for line in md.splitlines() if line.startswith("| ") and "**" in line}
    assert rows["a"].startswith("| ✅ reproduced") and "★" in rows["a"]
    assert rows["b"].startswith("| ❌ not reproduced") and "✅" not in rows["b"] and "📌 as pinned" in rows["b"]
    assert "why: #why-b" in rows["b"]
    assert rows["c"].startswith("| ➖ not checkable") and "no ImageNet offline" in rows["c"]
    assert "C \\| needs ImageNet" in md  # pipes are escaped
    assert len(set(ICONS.values())) == 4
    html_table = claims_html(make_ledger().claims, make_ledger().checks)
    assert "cvkit-claims" in html_table and "cvkit-checks" in html_table and "<b>a</b>" in html_table


def test_undecided_row_says_what_n_would_decide():
    c = decide(spec(">=", 1.0), replicates([0.0, 2.5, 0.5, 2.0, 1.5]), "smoke")
    md = claims_markdown([c])
    assert f"n ≈ {c.n_to_decide} would decide" in md and "⚠️ pinned: reproduced" in md


def test_claim_roundtrip():
    for c in make_ledger().claims:
        d = json.loads(json.dumps(c.to_dict()))
        assert Claim.from_dict(d) == c and d["holds"] == c.holds
        assert {"n", "ci", "source", "verdict", "expected", "method", "central"} <= set(d)


def test_sanity_check():
    assert sanity_check("t", "s", 2.0, ">=", 1.0).holds
    assert not sanity_check("t", "s", math.nan, ">=", 1.0).holds
    assert sanity_check("t", "s", math.nan, ">=", 1.0).to_dict()["measured"] is None  # valid JSON, no NaN
    assert side_of((1.0, 2.0), ">=", np.int64(1)) == REPRODUCED  # NumPy numbers are numbers
    assert not sanity_check("t", "s", 0.5, "between", (1.0, 2.0)).holds


# ---------------------------------------------------------------- reading back

def test_claims_and_checks_roundtrip_through_an_executed_notebook_structure():
    ledger = make_ledger()
    nb = {"cells": [
        {"cell_type": "markdown", "source": ['<a id="why-b"></a>\n', "Why B is slower here."]},
        {"cell_type": "code", "outputs": [
            {"output_type": "display_data", "data": claims_bundle(ledger.claims[:1], "unit", "claim")},
            {"output_type": "display_data",
             "data": {**claims_bundle(ledger.claims, "unit", "table", ledger.checks),
                      CLAIMS_MIME: json.dumps(claims_bundle(ledger.claims, "unit", "table", ledger.checks)[CLAIMS_MIME])}},
        ]}]}
    claims = claims_from_notebook(nb)
    assert [c["id"] for c in claims] == ["a", "b", "c"] and claims[0]["n"] == 4
    assert [c["id"] for c in checks_from_notebook(nb)] == ["trains"]
    assert explanation_anchors(nb) == {"why-b"}
    assert missing_explanations(nb, claims) == []
    nb["cells"][0]["source"] = "no anchor"
    assert missing_explanations(nb, claims) == ["b"]


def test_per_claim_display_is_one_line():
    c = make_ledger().claims[0]
    bundle = claims_bundle([c], "unit", "claim")
    assert bundle["text/plain"].count("\n") == 0 and bundle["text/plain"].startswith("✅ a: reproduced")


def test_formatting():
    assert format_number(None) == "—" and format_number(0.123456) == "0.1235"
    assert format_threshold(">=", 0.9) == "≥ 0.9" and format_threshold("between", (0.1, 0.2)) == "in [0.1, 0.2]"


# ---------------------------------------------------------------- success rates

def test_binomial_interval_matches_the_exact_formula():
    from scipy import stats

    assert binomial_interval(6, 6) == pytest.approx((0.025 ** (1 / 6), 1.0))
    assert binomial_interval(0, 6) == pytest.approx((0.0, 1 - 0.025 ** (1 / 6)))
    lo, hi = binomial_interval(7, 20)
    assert lo == pytest.approx(stats.beta.ppf(0.025, 7, 14)) and hi == pytest.approx(stats.beta.ppf(0.975, 8, 13))
    with pytest.raises(ValueError):
        binomial_interval(3, 2)


def test_a_perfect_success_rate_is_evidence_not_degenerate():
    """6 of 6 right is undecided against 90 % (it needs 36), 40 of 40 is reproduced; never 'degenerate'."""
    s = spec(">=", 0.9)
    six = decide(s, proportion([True] * 6, unit="bone pair"), "smoke")
    assert six.verdict == UNDECIDED and six.n_to_decide == 36 and "degenerate" not in six.note
    assert six.method == "exact binomial" and six.note.startswith("6 of 6")
    assert decide(s, proportion([1] * 40), "smoke").verdict == REPRODUCED
    assert decide(s, proportion([1] * 20 + [0] * 20), "smoke").verdict == NOT_REPRODUCED
    assert decide(s, proportion([True]), "smoke").ci[0] == pytest.approx(0.025)
    with pytest.raises(ValueError, match="0/1"):
        proportion([0.5, 1.0])


def test_a_small_perfect_rate_is_undecided_for_want_of_n_not_at_chance():
    """4 of 4 right: the exact interval [0.40, 1] still contains chance (0.5), but nothing was decided, so the claim is
    simply undecided, with the n that would decide it, not a guessing evaluator."""
    c = decide(spec(">=", 0.9), proportion([1] * 4, chance=0.5), "smoke")
    assert c.verdict == UNDECIDED and "chance" not in c.note and c.n_to_decide == 36


def test_check_pins_stops_a_batch_run_and_tells_a_student(capsys):
    ledger = make_ledger()
    assert ledger.check_pins(seed=0, enforce=False) == [] and "All 3 claims have their pinned verdicts at seed 0" in capsys.readouterr().out
    ledger.check_specs({"x": replicates([-1.0, -1.2, -0.9])}, [spec(">=", 0.0)])
    ledger.sanity("evaluator", "the evaluator beats chance", 0.1, ">=", 0.5)
    with pytest.raises(AssertionError, match=r"x: not reproduced \(pinned reproduced"):
        ledger.check_pins(seed=3, enforce=True)
    bad = ledger.check_pins(seed=3, enforce=False)  # interactively: reported, not raised
    assert bad == ledger.differences() and len(bad) == 2
    out = capsys.readouterr().out
    assert "1 claim differs from the pinned verdicts at seed 3 and 1 sanity check fails: x: not reproduced" in out
    assert "goes on" in out


def test_seeded_init_is_reproducible_and_leaves_the_global_generator_alone():
    import torch
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    with seeded_init(7, "init"):
        first = torch.randn(4)
    with seeded_init(7, "init"):
        again = torch.randn(4)
    with seeded_init(7, "other"):
        other = torch.randn(4)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator is untouched


def test_replicates_equal_up_to_float_rounding_count_as_one_value():
    """Two ratios that are equal but for rounding (a spread of 1e-16 on the log scale) must not give a zero-width
    t interval that decides on n = 2: they are one same value, decided only by the sign test from n = 6."""
    baseline = np.array([2.0, np.nextafter(4.0, 5.0)])  # differences 8 and 8 − 1 ulp: a spread of ~6e-16
    assert 0 < (np.array([10.0, 12.0]) - baseline).std(ddof=1) < 1e-15
    two = decide(spec(">=", 2.0), paired(np.array([10.0, 12.0]), baseline), "smoke")
    assert two.verdict == UNDECIDED and "sign test" in two.note
    # a real (if small) spread is still an interval
    spread = decide(spec(">=", 2.0), paired(np.array([9.0, 9.1, 9.2]), np.array([1.0, 1.0, 1.0])), "smoke")
    assert spread.verdict == REPRODUCED and spread.method.startswith("t")
