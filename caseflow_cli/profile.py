"""The operator profile: how the operator commands (`lag`, `rebuild`, `dlq`) reach the broker `make run` started.

`caseflow run` writes `.cache/run/operator.json` (mode 0600; `CASEFLOW_OPERATOR_PROFILE` names another file): the
broker address, the topic prefix and, on the secure broker, the admin principal's SCRAM credentials, since those
commands describe every consumer group and read and write every topic. A command uses the profile only when the
environment configures no broker (`CASEFLOW_KAFKA_BOOTSTRAP` unset), so explicit settings always win.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from caseflow_cli import acl
from caseflow_cli.infra import InfraSettings, InfraStatus
from shared.settings import PlatformSettings, describe_settings_error, load_settings

#: the principal operator commands run as on the secure broker
OPERATOR = acl.ADMIN


def profile_path() -> Path:
    named = os.environ.get("CASEFLOW_OPERATOR_PROFILE")
    return Path(named) if named else InfraSettings().cache / "run" / "operator.json"


def write_profile(settings: InfraSettings, status: InfraStatus, topic_prefix: str) -> Path:
    """Record how operators reach this run's broker (the admin principal on the secure one)."""
    profile: dict[str, Any] = {
        "principal": OPERATOR if settings.secure else None,
        "kafka_bootstrap": status.kafka_bootstrap,
        "topic_prefix": topic_prefix,
    }
    if settings.secure:
        profile |= {
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": acl.MECHANISM,
            "kafka_username": OPERATOR,
            "kafka_password": acl.admin_password(settings),
        }
    path = profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    return path


def read_profile() -> dict[str, Any]:
    """The profile's settings (PlatformSettings field names), or none when there is no profile."""
    path = profile_path()
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if k in PlatformSettings.model_fields and v is not None}


def operator_settings() -> PlatformSettings:
    """Platform settings for an operator command: the environment's, or the profile `make run` wrote."""
    if os.environ.get("CASEFLOW_KAFKA_BOOTSTRAP"):
        return load_settings(PlatformSettings)
    try:
        return PlatformSettings(**read_profile())
    except ValidationError as exc:
        print(f"operator profile {profile_path()}: {describe_settings_error(exc, PlatformSettings)}", file=sys.stderr)
        raise SystemExit(2) from None
