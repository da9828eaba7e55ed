"""The published language: every event payload of every department and partner, registered on import.

Import `shared.contracts` (not a single module) wherever events are decoded, so the registry knows them all.
"""

from shared.contracts import (  # noqa: F401
    common,
    hotline_linkage,
    intake,
    intake_review,
    legal_aid,
    mediation,
    metrics,
    notary,
    partners,
)
