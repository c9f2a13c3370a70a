"""Helpers of the command tests: every actor's `ape run` commands, invoked in-process with click's CliRunner on the
embedded chain: the same code path as `ape run <script> ...`, the chain shared with the test."""

from click.testing import CliRunner

# Short ballots, so a test can run one through by moving the clock [s, bps].
FAST_DAO = {"--voting-delay": 60, "--voting-period": 600, "--quorum-bps": 5_000, "--timelock-delay": 60,
            "--grace-period": 86_400}


def alias(account):
    """The `--account` value of a test account."""
    return f"TEST::{account.index}"


def invoke(cli, *args):
    """Run a command; returns click's Result (exit_code, output)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run(cli, *args):
    """Run a command that must succeed; returns its output."""
    result = invoke(cli, *args)
    assert result.exit_code == 0, result.output
    return result.output


def refused(cli, *args):
    """Run a command that must fail with one line and no traceback; returns that line."""
    result = invoke(cli, *args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    return lines[-1]


