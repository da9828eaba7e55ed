"""The notary domain (公证): applications, the certificate register, court commissions — pure rules.

Three aggregates, each a `Decider`: `application` (applications.py, fees in fees.py), `register` (registers.py:
certificate numbers) and `commission` (commissions.py); with the reference-data types of the matter catalogue
(catalogue.py) and the issuance deadline (calendar.py, counted on the shared China calendar `shared.calendar`).
Nothing here reads a clock or does I/O.
"""

from services.notary.domain.applications import (
    AcceptApplication,
    Application,
    Feedback,
    IssueCertificate,
    IssueMaterialsNotice,
    RecordCourtFeedback,
    RefuseApplication,
    Status,
    SubmitApplication,
    SupplementMaterials,
    application,
    ensure_issuable,
)
from services.notary.domain.calendar import ISSUE_WITHIN_WORKING_DAYS, issuance_due
from services.notary.domain.catalogue import MaterialSpec, MatterCatalogue, MatterSpec
from services.notary.domain.commissions import (
    AcceptCommission,
    Commission,
    CommissionStatus,
    PerformCommission,
    ReportCommission,
    commission,
    commission_stream,
)
from services.notary.domain.fees import FEE_WAIVER_BASIS, AssessFee, WaiverGrant, charged_fee
from services.notary.domain.registers import (
    AllocateNumber,
    Register,
    certificate_number,
    register,
    register_stream,
)

__all__ = [
    "FEE_WAIVER_BASIS",
    "ISSUE_WITHIN_WORKING_DAYS",
    "AcceptApplication",
    "AcceptCommission",
    "AllocateNumber",
    "Application",
    "AssessFee",
    "Commission",
    "CommissionStatus",
    "Feedback",
    "IssueCertificate",
    "IssueMaterialsNotice",
    "MaterialSpec",
    "MatterCatalogue",
    "MatterSpec",
    "PerformCommission",
    "RecordCourtFeedback",
    "RefuseApplication",
    "Register",
    "ReportCommission",
    "Status",
    "SubmitApplication",
    "SupplementMaterials",
    "WaiverGrant",
    "application",
    "certificate_number",
    "charged_fee",
    "commission",
    "commission_stream",
    "ensure_issuable",
    "issuance_due",
    "register",
    "register_stream",
]
