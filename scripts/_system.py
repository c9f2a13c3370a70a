"""The deployment record of the connected network, and small helpers of every `ape run` script."""

import datetime
import json
import os
from pathlib import Path

import click
from ape import chain, networks, project
from ape.exceptions import ContractLogicError
from eth_utils import is_address, to_checksum_address

from offchain.deploy import deploy_system, system_at


def record_path():
    """Where the current network's deployment is recorded (one file per network and chain id),
    in $GEM_DEPLOYMENTS, else the project's deployments/ folder."""
    net = networks.provider.network
    folder = Path(os.environ.get("GEM_DEPLOYMENTS") or Path(project.path) / "deployments")
    return folder / f"{net.ecosystem.name}_{net.name}_{chain.chain_id}.json"


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text (for scripts).")


def _plain(value):
    """JSON for what ape returns: bytes as 0x-hex, anything else as its text."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def emit(as_json, data, text=()):
    """A command's result: ``data`` as one JSON object, or ``text`` (a line or lines) for a person."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=_plain))
        return
    for line in [text] if isinstance(text, str) else text:
        click.echo(line)


def table(rows, columns):
    """Lines of a text table: ``columns`` are ``(key, heading)``; numbers align right."""
    cells = [[str(r[k]) for k, _ in columns] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(columns)]
    right = [bool(rows) and all(isinstance(r[k], int | float) for r in rows) for k, _ in columns]

    def line(values):
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return [line([h for _, h in columns]), line(["-" * w for w in widths])] + [line(c) for c in cells]


def address(text, option):
    """``text`` as a checksummed address, or a one-line error naming ``option``."""
    if not is_address(text):
        raise click.BadParameter(f"{text!r} is not an address (0x and 40 hex digits)", param_hint=option)
    return to_checksum_address(text)


def deploy_and_record(deployer, members, oracle, params=None):
    """``offchain.deploy.deploy_system`` on the connected network, the addresses recorded."""
    system = deploy_system(project, chain, deployer, members, oracle, params)
    write_record(system)
    return system


def write_record(system):
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "chain_id": chain.chain_id,
        "block": chain.blocks.head.number,
        "contracts": {name: c.address for name, c in system._asdict().items()},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def when(ts):
    """A timestamp [s] as UTC text."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def record_block():
    """The block of the recorded deployment: where event searches start."""
    return json.loads(record_path().read_text())["block"]


def events(event, **topics):
    """Logs of `event` since the recorded deployment, filtered by indexed arguments."""
    return list(event.range(record_block(), chain.blocks.head.number + 1, search_topics=topics or None))


def transact(method, *args, sender):
    """Send a transaction, or stop with the contract's one-line reason if it would revert.

    The call is tried first (eth_call), so a refusal costs nothing.
    """
    try:
        method.call(*args, sender=sender)
    except ContractLogicError as err:
        raise click.ClickException(f"refused: {err.message}") from None
    return method(*args, sender=sender)


def recorded_system_here():
    """The DAO's address in this network's record when its code is on this chain, else None."""
    path = record_path()
    if not path.is_file():
        return None
    dao = json.loads(path.read_text())["contracts"]["dao"]
    return dao if chain.provider.get_code(dao) else None


def load_system():
    """The recorded deployment of the current network, as contract instances.

    Raises click-friendly SystemExit with one line when nothing is deployed here.
    """
    path = record_path()
    if not path.is_file():
        raise SystemExit(f"no deployment recorded for this network ({path.name}); run `ape run deploy` first")
    if not (dao := recorded_system_here()):
        raise SystemExit(f"the DAO recorded in {path.name} is not on this chain (was the node restarted?)")
    return system_at(project, dao)
