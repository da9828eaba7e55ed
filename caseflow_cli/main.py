"""Entry point of the ``caseflow`` console script."""

import typer

from caseflow_cli.infra import infra_app
from caseflow_cli.run import run_command
from caseflow_cli.token import token_command

app = typer.Typer(no_args_is_help=True, help="caseflow operations CLI")
app.add_typer(infra_app, name="infra")
app.command("run")(run_command)
app.command("token")(token_command)

if __name__ == "__main__":
    app()
