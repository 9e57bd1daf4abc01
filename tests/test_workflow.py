"""Every allowed and every refused transition of the state machine."""

from __future__ import annotations

import pytest

from console.rules import workflow
from console.rules.workflow import TransitionRefused, transition
from db.vocabulary import STATUSES

EXPECTED = {
    # action: {from: to} — everything not listed must be refused
    "assign": {
        "new": "open",
        "open": "open",
        "pending": "pending",
        "restored": "restored",
        "resolved": "resolved",
    },
    "reply": {
        "new": "open",
        "open": "open",
        "pending": "pending",
        "restored": "restored",
        "resolved": "resolved",
    },
    "note": {s: s for s in STATUSES},
    "customer_reply": {"new": "new", "open": "open", "pending": "open", "restored": "restored"},
    "pending": {"new": "pending", "open": "pending", "restored": "pending"},
    "resume": {"pending": "open"},
    "escalate": {"new": "open", "open": "open", "pending": "open", "restored": "open"},
    "restore": {"new": "restored", "open": "restored", "pending": "restored"},
    "resolve": {"new": "resolved", "open": "resolved", "pending": "resolved", "restored": "resolved"},
    # the closed loop: only a restored or resolved ticket closes
    "close": {"restored": "closed", "resolved": "closed"},
    "reopen": {"resolved": "open", "closed": "open"},
    "call": {"new": "open", "open": "open", "pending": "pending", "restored": "restored", "resolved": "resolved"},
    "customer_call": {
        "new": "new",
        "open": "open",
        "pending": "open",
        "restored": "restored",
        "resolved": "resolved",
    },
    "visit": {"new": "open", "open": "open", "pending": "pending", "restored": "restored", "resolved": "resolved"},
    "priority": {"new": "new", "open": "open", "pending": "pending", "restored": "restored"},
}

CASES = [(action, status) for action in EXPECTED for status in STATUSES]


@pytest.mark.parametrize(("action", "status"), CASES)
def test_transition_table(action: str, status: str) -> None:
    allowed = EXPECTED[action]
    if status in allowed:
        assert transition(7, status, action) == allowed[status]
        assert action in workflow.allowed_actions(status) or action in ("customer_reply", "customer_call")
    else:
        with pytest.raises(TransitionRefused) as info:
            transition(7, status, action)
        assert info.value.ticket_id == 7
        assert action not in workflow.allowed_actions(status)


def test_refusal_says_what_is_allowed() -> None:
    with pytest.raises(TransitionRefused) as info:
        transition(12, "closed", "resolve")
    assert str(info.value) == "ticket 12 is closed; cannot resolve; allowed: reopen"


def test_closed_allows_only_reopen_and_note() -> None:
    assert workflow.allowed_actions("closed") == ["note", "reopen"]


def test_next_tier() -> None:
    assert workflow.next_tier("L1") == "L2"
    assert workflow.next_tier("L2") == "L3"
    assert workflow.next_tier("L3") is None


def test_replay_folds_changes() -> None:
    state = workflow.replay(
        {"status": "new", "assignee": None},
        [{"status": ["new", "open"], "assignee": [None, "a"]}, {"status": ["open", "pending"]}],
    )
    assert state == {"status": "pending", "assignee": "a"}
