"""The deployment record of the connected network, and small helpers of every `ape run` script."""

import datetime
import json
from pathlib import Path

import click
from ape import chain, networks, project
from ape.exceptions import ContractLogicError

from offchain.deploy import deploy_system, system_at


def record_path():
    """Where the current network's deployment is recorded (one file per network and chain id)."""
    net = networks.provider.network
    return Path(project.path) / "deployments" / f"{net.ecosystem.name}_{net.name}_{chain.chain_id}.json"


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


def load_system():
    """The recorded deployment of the current network, as contract instances.

    Raises click-friendly SystemExit with one line when nothing is deployed here.
    """
    path = record_path()
    if not path.is_file():
        raise SystemExit(f"no deployment recorded for this network ({path.name}); run `ape run deploy` first")
    record = json.loads(path.read_text())
    address = record["contracts"]["dao"]
    if not chain.provider.get_code(address):
        raise SystemExit(f"the DAO recorded in {path.name} is not on this chain (was the node restarted?)")
    return system_at(project, address)
