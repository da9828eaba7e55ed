"""Intake domain: a citizen's request (咨询/求助/投诉), a hotline call and a village's legal advisor (村居法律顾问).

One decider covers the three stream kinds (`rq-…`, `call-…`, `adv-<village>`) so that the single event store and
its read model rebuild fold every stream with the same functions; each command only applies to its own kind.
Pure: time comes in on the commands (`at`), nothing here reads a clock or does I/O.

Modules: state.py (the three stream kinds), rules.py (channels, QC draw, region levels, time spans), commands.py,
decider.py (decide), evolve.py.
"""

from services.intake.domain.commands import (
    AbandonCall,
    AnswerCall,
    AnswerRequest,
    AssignAdvisor,
    CloseRequest,
    CompleteWorkOrder,
    EscalateRequest,
    EvaluateRequest,
    LogAdvisorService,
    OfferCall,
    OpenWorkOrder,
    PublishWebReply,
    ReceiveRequest,
    ReferRequest,
    UnassignAdvisor,
)
from services.intake.domain.decider import decide, decider
from services.intake.domain.evolve import evolve
from services.intake.domain.rules import (
    DEFAULT_WORK_ORDER_HOURS,
    QC_RULE,
    QC_SAMPLE_PERCENT,
    REMOTE_CHANNELS,
    WORK_ORDER_CHANNELS,
    is_overdue,
    minutes_between,
    qc_bucket,
    region_level_problem,
    seconds_between,
    switchboard_time_problem,
    work_order_due,
)
from services.intake.domain.state import (
    Call,
    CallStatus,
    Empty,
    IntakeState,
    Request,
    Status,
    Village,
    WorkOrder,
    initial_state,
)

__all__ = [
    "DEFAULT_WORK_ORDER_HOURS",
    "QC_RULE",
    "QC_SAMPLE_PERCENT",
    "REMOTE_CHANNELS",
    "WORK_ORDER_CHANNELS",
    "AbandonCall",
    "AnswerCall",
    "AnswerRequest",
    "AssignAdvisor",
    "Call",
    "CallStatus",
    "CloseRequest",
    "CompleteWorkOrder",
    "Empty",
    "EscalateRequest",
    "EvaluateRequest",
    "IntakeState",
    "LogAdvisorService",
    "OfferCall",
    "OpenWorkOrder",
    "PublishWebReply",
    "ReceiveRequest",
    "ReferRequest",
    "Request",
    "Status",
    "UnassignAdvisor",
    "Village",
    "WorkOrder",
    "decide",
    "decider",
    "evolve",
    "initial_state",
    "is_overdue",
    "minutes_between",
    "qc_bucket",
    "region_level_problem",
    "seconds_between",
    "switchboard_time_problem",
    "work_order_due",
]
