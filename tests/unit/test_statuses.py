"""Every transition of the contract's status machine moves to a higher rank."""

from __future__ import annotations

from streams import statuses as s

TRANSITIONS = {
    s.PENDING: {s.RESERVED, s.REJECTED},
    s.RESERVED: {s.PAID, s.PAYMENT_FAILED, s.CANCELLED, s.EXPIRED},
    s.PAID: {s.REFUNDED},
}


def test_every_transition_goes_up_in_rank() -> None:
    for source, targets in TRANSITIONS.items():
        for target in targets:
            assert s.STATUS_RANK[target] > s.STATUS_RANK[source], (source, target)


def test_final_statuses_have_no_way_out() -> None:
    assert s.FINAL_STATUSES.isdisjoint(TRANSITIONS)
    assert set(s.STATUS_RANK) == set(TRANSITIONS) | {t for ts in TRANSITIONS.values() for t in ts}
