"""Procedure kinds as data: their states, transitions and sourced period rules."""

from __future__ import annotations

import pytest

from trading.errors import Forbidden, RuleViolation
from trading.rules.procedures import (
    ACTS,
    EVENTS,
    LAW24_DOCUMENTS_TO_DEADLINE,
    PROCEDURES,
    allowed_acts,
    apply_transition,
    get_procedure,
    message,
)

EXPECTED_KINDS = {
    "works_open_tender": "works",
    "gp_open_tender": "procurement",
    "gp_competitive_negotiation": "procurement",
    "gp_request_for_quotation": "procurement",
    "gp_competitive_consultation": "procurement",
    "gp_single_source": "procurement",
    "land_tender": "land",
    "land_auction": "land",
    "land_listing": "land",
    "property_transfer": "property",
}

ALL = sorted(PROCEDURES)


def test_procedure_keys_and_trade_kinds():
    assert {k: p.trade_kind for k, p in PROCEDURES.items()} == EXPECTED_KINDS
    for key, procedure in PROCEDURES.items():
        assert procedure.key == key
        assert procedure.name_zh and procedure.name_en


@pytest.mark.parametrize("key", ALL)
def test_transitions_reference_only_declared_states(key):
    procedure = PROCEDURES[key]
    declared = [s for s, _zh, _en in procedure.states]
    assert len(declared) == len(set(declared))
    assert procedure.initial in declared
    assert set(procedure.final_states) <= set(declared)
    for t in procedure.transitions:
        assert t.act in ACTS, t.act
        assert t.to_state in declared, (t.act, t.to_state)
        assert t.from_states and set(t.from_states) <= set(declared), (t.act, t.from_states)
        assert t.roles
    for _s, zh, en in procedure.states:
        assert zh and en


@pytest.mark.parametrize("key", ALL)
def test_state_machine_shape(key):
    procedure = PROCEDURES[key]
    # An act is unambiguous from any state.
    for state, _zh, _en in procedure.states:
        acts = [t.act for t in procedure.transitions if state in t.from_states]
        assert len(acts) == len(set(acts)), (state, acts)
    # Final states lead nowhere; every other state can be terminated.
    for t in procedure.transitions:
        assert not set(t.from_states) & set(procedure.final_states), t
    live = [s for s, _zh, _en in procedure.states if s not in procedure.final_states]
    for state in live:
        assert apply_transition(procedure, state, "terminate", ["staff"]) == "terminated"
    # Every state is reachable from the initial one.
    reached, frontier = {procedure.initial}, [procedure.initial]
    while frontier:
        state = frontier.pop()
        for t in procedure.transitions:
            if state in t.from_states and t.to_state not in reached:
                reached.add(t.to_state)
                frontier.append(t.to_state)
    assert reached == {s for s, _zh, _en in procedure.states}


@pytest.mark.parametrize("key", ALL)
def test_every_period_rule_has_a_source(key):
    procedure = PROCEDURES[key]
    rules = list(procedure.periods) + ([procedure.clarification] if procedure.clarification else [])
    assert procedure.periods, "every procedure has at least one statutory period"
    for rule in rules:
        assert rule.source.startswith("《"), rule.code
        assert rule.source_en and rule.rule and rule.zh and rule.en, rule.code
        assert rule.end in EVENTS, rule.code
        assert rule.start in EVENTS or (rule is procedure.clarification and rule.start == "clarification")
        if rule.unit == "same_time":
            assert rule.minimum is None and rule.maximum is None
        else:
            assert rule.minimum is not None and rule.minimum > 0, rule.code
        zh, en = message(rule)
        assert rule.source in zh and rule.source_en in en


@pytest.mark.parametrize("key", ALL)
def test_required_events_are_known_and_include_the_deadline(key):
    procedure = PROCEDURES[key]
    assert set(procedure.required_events) <= set(EVENTS)
    assert procedure.deadline_event in procedure.required_events


def test_rule_codes_are_unique_within_a_procedure():
    for procedure in PROCEDURES.values():
        codes = [r.code for r in procedure.periods]
        assert len(codes) == len(set(codes)), procedure.key


def test_message_names_the_law():
    zh, en = message(LAW24_DOCUMENTS_TO_DEADLINE)
    assert zh == "自招标文件发出之日起至投标截止不得少于20日（《招标投标法》第二十四条）"
    assert en == (
        "At least 20 days must pass from the issue of the tender documents to the bid deadline "
        "(Tendering and Bidding Law, Art. 24)"
    )


def test_sealed_bid_procedures_open_at_the_deadline():
    for key in ("works_open_tender", "gp_open_tender", "land_tender"):
        rules = [r for r in PROCEDURES[key].periods if r.unit == "same_time"]
        assert [(r.start, r.end) for r in rules] == [("bid_deadline", "opening")], key
    assert [r.rule for r in PROCEDURES["works_open_tender"].periods if r.unit == "same_time"] == ["法 §34"]


def test_clarification_rules():
    assert PROCEDURES["works_open_tender"].clarification.rule == "法 §23"
    assert PROCEDURES["works_open_tender"].clarification.minimum == 15
    assert PROCEDURES["gp_open_tender"].clarification.rule == "87号令 §27"
    assert PROCEDURES["land_tender"].clarification.minimum == 15
    assert PROCEDURES["land_auction"].clarification is None


def test_unverified_rules_are_configurable():
    for key in ("gp_competitive_negotiation", "gp_request_for_quotation", "gp_competitive_consultation"):
        assert all(r.configurable for r in PROCEDURES[key].periods), key
    listing = {r.code: r for r in PROCEDURES["land_listing"].periods}
    assert listing["mlr39_listing_period"].configurable
    assert listing["mlr39_listing_period"].unit == "working_days"
    assert all(r.configurable for r in PROCEDURES["property_transfer"].periods)
    assert not any(r.configurable for r in PROCEDURES["works_open_tender"].periods)


def test_get_procedure():
    assert get_procedure("land_listing").trade_kind == "land"
    with pytest.raises(RuleViolation) as info:
        get_procedure("dutch_auction")
    assert info.value.code == "unknown_procedure"
    assert "dutch_auction" in info.value.message_zh and "dutch_auction" in info.value.message_en


# --- transitions -------------------------------------------------------------------------------------


def test_works_tender_runs_from_draft_to_contract():
    works = PROCEDURES["works_open_tender"]
    state = works.initial
    for act, roles in [
        ("publish", ["staff"]),
        ("close", ["system"]),
        ("open", ["opener"]),
        ("start_evaluation", ["system"]),
        ("publish_result", ["staff"]),
        ("suspend", ["staff"]),
        ("resume", ["admin"]),
        ("award", ["staff"]),
        ("sign_contract", ["staff"]),
    ]:
        state = apply_transition(works, state, act, roles)
    assert state == "contracted"


def test_objection_pause_and_resume():
    works = PROCEDURES["works_open_tender"]
    assert apply_transition(works, "tendering", "suspend", ["staff"]) == "suspended"
    assert apply_transition(works, "suspended", "resume", ["staff"]) == "tendering"
    assert apply_transition(works, "publicity", "suspend", ["staff"]) == "publicity_suspended"
    assert apply_transition(works, "publicity_suspended", "resume", ["staff"]) == "publicity"


def test_too_few_bidders_fails_the_tender():
    gp = PROCEDURES["gp_open_tender"]
    for state in ("closed", "opening", "evaluating"):
        assert apply_transition(gp, state, "fail", ["system"]) == "failed"


def test_land_listing_with_timed_auction():
    listing = PROCEDURES["land_listing"]
    state = apply_transition(listing, "draft", "publish", ["staff"])
    assert state == "announced"
    state = apply_transition(listing, state, "start_listing", ["system"])
    state = apply_transition(listing, state, "start_auction", ["system"])
    assert apply_transition(listing, state, "sell", ["system"]) == "sold"
    assert apply_transition(listing, "listing", "declare_no_sale", ["system"]) == "no_sale"
    auction = PROCEDURES["land_auction"]
    assert apply_transition(auction, "announced", "start_auction", ["staff"]) == "auction"
    with pytest.raises(RuleViolation):
        apply_transition(auction, "announced", "start_listing", ["staff"])


def test_single_source_and_property_transfer():
    ss = PROCEDURES["gp_single_source"]
    assert apply_transition(ss, "draft", "publish", ["staff"]) == "publicity"
    assert apply_transition(ss, "publicity", "start_negotiation", ["staff"]) == "negotiating"
    pt = PROCEDURES["property_transfer"]
    assert apply_transition(pt, "draft", "publish", ["staff"]) == "disclosing"
    assert apply_transition(pt, "disclosing", "start_trading", ["system"]) == "trading"
    assert apply_transition(pt, "trading", "sell", ["staff"]) == "sold"


def test_illegal_transition_is_refused_naming_the_act_and_state():
    works = PROCEDURES["works_open_tender"]
    with pytest.raises(RuleViolation) as info:
        apply_transition(works, "draft", "open", ["staff"])
    err = info.value
    assert err.code == "illegal_transition"
    assert err.status_code == 422
    assert "草稿" in err.message_zh and "开标" in err.message_zh
    assert "Draft" in err.message_en and "open the bids" in err.message_en
    assert err.details["state"] == "draft" and err.details["act"] == "open"
    assert err.details["allowed_acts"] == ["publish", "terminate"]


def test_no_act_leaves_a_final_state():
    works = PROCEDURES["works_open_tender"]
    for state in works.final_states:
        with pytest.raises(RuleViolation) as info:
            apply_transition(works, state, "terminate", ["admin"])
        assert info.value.code == "illegal_transition"


def test_unknown_act_is_an_illegal_transition():
    with pytest.raises(RuleViolation) as info:
        apply_transition(PROCEDURES["works_open_tender"], "tendering", "teleport", ["admin"])
    assert info.value.code == "illegal_transition"


def test_wrong_role_is_forbidden():
    works = PROCEDURES["works_open_tender"]
    with pytest.raises(Forbidden) as info:
        apply_transition(works, "draft", "publish", ["bidder"])
    assert info.value.status_code == 403
    assert info.value.code == "forbidden"
    assert "发布" in info.value.message_zh
    # A bidder is told it may not publish even where publishing is not possible at all.
    with pytest.raises(Forbidden):
        apply_transition(works, "tendering", "publish", ["bidder", "evaluator"])
    with pytest.raises(Forbidden):
        apply_transition(works, "closed", "open", [])
    with pytest.raises(Forbidden):
        apply_transition(works, "tendering", "terminate", ["system"])


def test_allowed_acts():
    works = PROCEDURES["works_open_tender"]
    assert allowed_acts(works, "draft", ["staff"]) == ("publish", "terminate")
    assert allowed_acts(works, "closed", ["opener"]) == ("open",)
    assert allowed_acts(works, "draft", ["bidder"]) == ()
