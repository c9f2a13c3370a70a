"""Helpers of the command tests: every actor's `ape run` commands, invoked in-process with click's CliRunner on the
embedded chain: the same code path as `ape run <script> ...`, the chain shared with the test."""

from ape import chain
from click.testing import CliRunner
from eth_utils import to_checksum_address

from greenminer import secp256k1

# Short ballots, so a test can run one through by moving the clock [s, bps].
FAST_DAO = {"--voting-delay": 60, "--voting-period": 600, "--quorum-bps": 5_000, "--timelock-delay": 60,
            "--grace-period": 86_400}


def alias(account):
    """The `--account` value of a test account."""
    return f"TEST::{account.index}"


def invoke(cli, *args):
    """Run a command; returns click's Result (exit_code, output).

    The command is handed the test's provider: without it, ape connects a provider of its
    own for the command and disconnects it after, which drops the test's chain snapshots
    (the tests would then see each other's state)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, obj={"provider": chain.provider})


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


def refused_unsent(cli, account, *args):
    """:func:`refused`, and asserts that ``account`` sent nothing."""
    nonce = account.nonce
    line = refused(cli, *args)
    assert account.nonce == nonce
    return line


def address_of(priv):
    """The checksummed address of a private key [int]."""
    return to_checksum_address(secp256k1.address(secp256k1.public_key(priv)))
