"""Allows ``python -m caseflow_cli``."""

from caseflow_cli.main import app

if __name__ == "__main__":
    app()
