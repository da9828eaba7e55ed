"""Money (shared/contracts/common.py): exact yuan to the fen in commands and events, stored floats still decode."""

from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.contracts.common import Money, Share
from shared.contracts.legal_aid import ApplicationReviewed, SubsidyPaid
from shared.contracts.notary import FeeAssessed
from shared.envelope import Envelope
from shared.errors import MalformedEvent
from shared.events import registry


class Body(BaseModel):
    amount: Annotated[Money, Field(gt=0)]


@pytest.mark.parametrize(("given", "exact"), [("1999.99", "1999.99"), (80, "80.00"), (0.1, "0.10"), ("1.500", "1.50")])
def test_amounts_are_read_as_the_decimals_written(given, exact):
    """Seed 004 (a threshold in yuan): an amount is the decimal written, never its binary float, to the fen."""
    body = Body(amount=given)
    assert body.amount == Decimal(exact) and str(body.amount) == exact
    assert body.model_dump(mode="json") == {"amount": exact}  # a string in JSON: every reader gets it exactly


@pytest.mark.parametrize("given", ["0.001", 1.005, 0.1 + 0.2, "12.345"])
def test_fractions_of_a_fen_are_refused_naming_the_rule(given):
    """Money's unit is the fen (分): a third decimal is refused with the rule named."""
    with pytest.raises(ValidationError) as err:
        Body(amount=given)
    assert err.value.errors()[0]["msg"].startswith("at most two decimal places (fen)")


@pytest.mark.parametrize("given", [-1, "nan", "inf", "1e20", True, "ten"])
def test_negative_infinite_absurd_or_non_numeric_amounts_are_refused(given):
    """Money is a finite non-negative amount under a trillion yuan."""
    with pytest.raises(ValidationError):
        Body(amount=given)


def test_sums_of_amounts_are_exact():
    """The 0.1 + 0.2 case: decimal sums of amounts equal the amount, where floats drift."""
    a, b = Body(amount="0.10").amount, Body(amount="0.20").amount
    assert a + b == Decimal("0.30") and 0.1 + 0.2 != 0.3


def test_a_share_is_exact_to_a_whole_percent():
    """法律援助法 art. 53 (fees reduced or waived): the share waived is 0–1 to a whole percent."""

    class Waiver(BaseModel):
        share: Share

    assert Waiver(share=0.5).share == Decimal("0.50")
    for bad in ("0.333", 1.5, -0.1):
        with pytest.raises(ValidationError):
            Waiver(share=bad)


def test_events_stored_with_float_amounts_still_decode():
    """Events written before Money carried JSON numbers: they decode to the decimal they spell, a float finer than
    the fen included (history is read, not refused), while a new event with one cannot be made."""
    old = registry.load(
        "caseflow.notary.fee_assessed",
        1,
        {"matter": "birth", "standard_fee": 80.0, "charged_fee": 40.0, "waived": True, "waiver_share": 0.5,
         "aid_linked": True, "aid_case_id": "la-1", "assessed_at": "2026-03-02T09:00:00Z"},
    )
    assert isinstance(old, FeeAssessed) and old.charged_fee == Decimal("40.00") and old.aid_link_verified is None
    reviewed = registry.load(
        "caseflow.legal_aid.application_reviewed",
        1,
        {"decision": "refused", "reason": "refused: income", "matter_type": "wages", "threshold": 1900.0,
         "decided_at": "2026-03-02T09:00:00Z"},
    )
    assert isinstance(reviewed, ApplicationReviewed) and reviewed.threshold == Decimal("1900.00")
    stored = Envelope.wrap(SubsidyPaid(amount=Decimal("1"), paid_at="2026-03-02T09:00:00Z"), source="s", subject="la-1",
                           correlationid="c", actor="a")
    legacy = stored.model_copy(update={"data": {**stored.data, "amount": 800.005}})
    assert legacy.payload(registry).amount == Decimal("800.005")
    with pytest.raises(ValidationError):
        SubsidyPaid(amount=800.005, paid_at="2026-03-02T09:00:00Z")


def test_a_stored_event_with_a_broken_amount_is_still_malformed():
    """Reading history is lenient about fen only: a negative amount in a stored event is refused as malformed."""
    with pytest.raises(MalformedEvent):
        registry.load("caseflow.legal_aid.subsidy_paid", 1, {"amount": -5, "paid_at": "2026-03-02T09:00:00Z"})
