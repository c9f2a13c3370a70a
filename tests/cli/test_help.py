"""`--help` of every `ape run` command: the command says what it does, every option has help,
every argument is named in the command's text, and every command that prints a result has
`--json` (the gateway's server serves and the demo tells a story: they do not)."""

import importlib

import click
import pytest
from cli_kit import invoke

SCRIPTS = ("deploy", "demo", "miner", "dao", "node", "market", "certificate", "gateway", "index", "oracle")
NO_JSON = ("gateway serve", "demo")


def _commands():
    for name in SCRIPTS:
        cli = importlib.import_module(f"scripts.{name}").cli
        if isinstance(cli, click.Group):
            for sub, command in cli.commands.items():
                yield pytest.param(name, cli, [sub], command, id=f"{name} {sub}")
        else:
            yield pytest.param(name, cli, [], cli, id=name)


@pytest.mark.parametrize("script, cli, path, command", _commands())
def test_help__every_command_option_and_argument_explained(script, cli, path, command):
    result = invoke(cli, *path, "--help")
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert command.help and " ".join(command.help.split("\n\n")[0].split()) in shown
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{param.opts} has no help"
        else:
            assert param.name.upper() in command.help, f"{param.name} not explained"
    names = {p.name for p in command.params}
    assert ("as_json" in names) == (" ".join([script, *path]) not in NO_JSON), names

