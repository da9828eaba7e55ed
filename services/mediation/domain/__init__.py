"""A dispute's people's-mediation lifecycle (人民调解): state, commands, decide(), evolve() and the deadlines.

registered → mediator_assigned → session_held* → agreement_signed | failed | withdrawn → (agreement) the parties
may apply for judicial confirmation within 30 days (人民调解法 art. 33) → confirmation_requested → confirmed |
rejected (court) → follow-up visit for complex disputes (回访) → archived. A partner referral is acknowledged
(accepted / declined with reason) and every ending or ruling goes back to the referring organ. Each source has
a time limit (e.g. 诉前调解 30 days, extendable by the parties' consent). Pure: no clock, no I/O; reference data
(which committees cover the dispute) comes in on the command.

Modules: state.py (status and the dispute), commands.py, deadlines.py (the periods and whether each was met),
rules.py (referrers, complexity, committee coverage), decider.py (decide), evolve.py.
"""

from services.mediation.domain.commands import (
    Archive,
    AssignMediator,
    CommitteeFit,
    ExtendTimeLimit,
    FailMediation,
    HoldSession,
    RecordConfirmation,
    RecordFollowUp,
    RecordWindowLapse,
    RegisterDispute,
    RequestConfirmation,
    SignAgreement,
    Withdraw,
)
from services.mediation.domain.deadlines import (
    CONFIRMATION_WINDOW_DAYS,
    DEFAULT_FOLLOW_UP_DAYS,
    DeadlineStatus,
    confirmation_deadline,
    deadline_status,
    follow_up_due,
    time_limit_due,
)
from services.mediation.domain.decider import decide, decider
from services.mediation.domain.evolve import evolve
from services.mediation.domain.rules import (
    COMPLEX_TYPES,
    GROUP_DISPUTE_PARTIES,
    PARTNER_REFERRERS,
    PARTNER_SOURCES,
    covers,
    is_complex,
)
from services.mediation.domain.state import ACTIVE, AGREED, ARCHIVABLE, WITH_MEDIATOR, Dispute, Status, initial_state

__all__ = [
    "ACTIVE",
    "AGREED",
    "ARCHIVABLE",
    "Archive",
    "AssignMediator",
    "COMPLEX_TYPES",
    "CONFIRMATION_WINDOW_DAYS",
    "CommitteeFit",
    "DEFAULT_FOLLOW_UP_DAYS",
    "DeadlineStatus",
    "Dispute",
    "ExtendTimeLimit",
    "FailMediation",
    "GROUP_DISPUTE_PARTIES",
    "HoldSession",
    "PARTNER_REFERRERS",
    "PARTNER_SOURCES",
    "RecordConfirmation",
    "RecordFollowUp",
    "RecordWindowLapse",
    "RegisterDispute",
    "RequestConfirmation",
    "SignAgreement",
    "Status",
    "WITH_MEDIATOR",
    "Withdraw",
    "confirmation_deadline",
    "covers",
    "deadline_status",
    "decide",
    "decider",
    "evolve",
    "follow_up_due",
    "initial_state",
    "is_complex",
    "time_limit_due",
]
