"""Where ``caseflow_cli.postgres`` used to be: its names now live in ``caseflow_cli.infra.postgres`` (the server)
and ``caseflow_cli.infra.databases`` (roles, databases, URLs); kept so existing imports keep working."""

from caseflow_cli.infra.databases import (
    ADMIN,
    ADMIN_DB,
    load_passwords,
    probe,
    provision,
    redact,
    service_url,
    url,
)
from caseflow_cli.infra.postgres import base_dir, data_dir, ensure_installed, remove_data, socket_dir, start

__all__ = [
    "ADMIN",
    "ADMIN_DB",
    "base_dir",
    "data_dir",
    "ensure_installed",
    "load_passwords",
    "probe",
    "provision",
    "redact",
    "remove_data",
    "service_url",
    "socket_dir",
    "start",
    "url",
]
