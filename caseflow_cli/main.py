"""Entry point of the ``caseflow`` console script."""

import typer

from caseflow_cli.dlq import dlq_app
from caseflow_cli.indicators import indicators_command
from caseflow_cli.infra import infra_app
from caseflow_cli.lag import lag_command
from caseflow_cli.rebuild import rebuild_command
from caseflow_cli.run import run_command
from caseflow_cli.token import token_command
from caseflow_cli.trace import trace_command
from integrations.simulate import simulate_command

app = typer.Typer(no_args_is_help=True, help="caseflow operations CLI")
app.add_typer(infra_app, name="infra")
app.command("run")(run_command)
app.command("token")(token_command)
app.command("trace")(trace_command)
app.command("indicators")(indicators_command)
app.command("simulate")(simulate_command)
app.command("rebuild")(rebuild_command)
app.command("lag")(lag_command)
app.add_typer(dlq_app, name="dlq")

if __name__ == "__main__":
    app()
