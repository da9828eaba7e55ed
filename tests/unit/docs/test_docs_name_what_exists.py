"""The docs name only what the code has: every repository path they cite exists, and every environment
variable they document is a settings field (or a variable the code reads by name)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = ("shared/", "services/", "caseflow_cli/", "integrations/", "tests/", "deploy/", "docs/", "bench/")
PATH = re.compile(r"`((?:" + "|".join(re.escape(t) for t in TOP) + r")[A-Za-z0-9_./<>{}-]*)`")
PREFIXES = ("CASEFLOW_", "INTAKE_", "LEGAL_AID_", "MEDIATION_", "NOTARY_", "METRICS_", "CONSOLE_", "GATEWAY_")
VARIABLE = re.compile(r"\b((?:" + "|".join(PREFIXES) + r")[A-Z0-9_]*[A-Z0-9])\b")
PACKAGES = ("shared", "services", "caseflow_cli", "integrations", "bench")


def _cited(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted({(doc.relative_to(ROOT).as_posix(), m) for doc in DOCS for m in pattern.findall(doc.read_text())})


def _settings_variables() -> set[str]:
    names: set[str] = set()
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if info.name.endswith(("__main__", ".main")) and package == "bench":
                continue
            try:
                module = importlib.import_module(info.name)
            except Exception:  # a module that needs a running server to import is not a settings module
                continue
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings:
                    prefix = str(value.model_config.get("env_prefix", ""))
                    names.update(f"{prefix}{field.upper()}" for field in value.model_fields)
    return names


def _code_text() -> str:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return "\n".join(
        (ROOT / f).read_text(errors="replace")
        for f in {*files, *untracked}
        if not f.endswith(".md") and (ROOT / f).is_file() and (ROOT / f).stat().st_size < 1_000_000
    )


@pytest.mark.parametrize("doc, path", _cited(PATH))
def test_a_cited_path_exists(doc: str, path: str) -> None:
    concrete = path.split("<")[0].split("{")[0].rstrip("/") or path
    assert (ROOT / concrete).exists(), f"{doc} cites {path}, which does not exist"


def test_every_documented_variable_is_read_by_the_code() -> None:
    known = _settings_variables()
    code = _code_text()
    missing = [(doc, name) for doc, name in _cited(VARIABLE) if name not in known and name not in code]
    assert not missing, f"documented but read nowhere: {missing}"
