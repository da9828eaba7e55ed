"""caseflow operations CLI (local infrastructure and operational commands)."""
