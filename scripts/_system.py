"""The deployment record of the connected network, and small helpers of every `ape run` script."""

import contextlib
import datetime
import json
import os
import signal
import sqlite3
import threading
from functools import cached_property
from pathlib import Path

import click
from ape import chain, networks, project
from ape.api.networks import EcosystemAPI
from ape.cli import account_option as ape_account_option
from ape.exceptions import ContractLogicError
from eth_utils import is_address, to_checksum_address

from offchain.deploy import deploy_system, system_at
from offchain.display import table  # noqa: F401 (the commands' tables)
from offchain.governance import DEFAULT_DAO_PARAMS, dao_setup_problems
from offchain.index import store
from offchain.oracle.state import write_json_atomic


def records_folder():
    """Where deployments are recorded: $GEM_DEPLOYMENTS, else the project's deployments/ folder."""
    return Path(os.environ.get("GEM_DEPLOYMENTS") or Path(project.path) / "deployments")


def record_path():
    """Where the current network's deployment is recorded (one file per network and chain id, which
    the commands read; every network's is also in :func:`networks_path`)."""
    net = networks.provider.network
    return records_folder() / f"{net.ecosystem.name}_{net.name}_{chain.chain_id}.json"


def networks_path():
    """The one file naming every network's deployment: ``{"ecosystem:network:chain id": record}``."""
    return records_folder() / "networks.json"


def read_networks():
    """Every recorded network's deployment, as :func:`networks_path` keeps them ({} when none)."""
    path = networks_path()
    return json.loads(path.read_text()) if path.is_file() else {}


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text (for scripts).")


def _plain(value):
    """JSON for what ape returns: bytes as 0x-hex, anything else as its text."""
    if isinstance(value, bytes | bytearray):
        return to_0x(value)
    return str(value)


def emit(as_json, data, text=()):
    """A command's result: ``data`` as one JSON object, or ``text`` (a line or lines) for a person."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=_plain))
        return
    for line in [text] if isinstance(text, str) else text:
        click.echo(line)


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


_UNITS = {"quorum_bps": "[bps]"}


def deploy_options(f):
    """The deployer's options: account, members, oracle, the DAO's parameters, --replace."""
    f = click.option("--replace", is_flag=True, help="Deploy again although this chain has a recorded deployment.")(f)
    for name in reversed(DEFAULT_DAO_PARAMS):
        f = click.option(f"--{name.replace('_', '-')}", name, type=int, default=DEFAULT_DAO_PARAMS[name],
                         show_default=True, help=_UNITS.get(name, "[s]"))(f)
    f = click.option("--oracle", required=True, help="Address of the oracle operator's account.")(f)
    f = click.option("--member", "members", multiple=True, required=True,
                     help="Founding DAO member address (repeat).")(f)
    return account_option("The deployer's account (an ape account alias, or TEST::<n> on a local test chain): "
                          "it pays for every contract.")(f)


def check_deploy(account, members, oracle, replace, params):
    """Check every input of a deployment on the connected network, sending nothing; one line when one is wrong.

    Returns the checked ``(members, oracle)`` addresses.
    """
    members = [address(m, "--member") for m in members]
    oracle = address(oracle, "--oracle")
    if problems := dao_setup_problems(members, params):
        raise click.ClickException("; ".join(problems))
    if account.balance == 0:
        raise click.ClickException(f"{account.address} has no ether to pay for the deployment")
    if recorded_system_here() and not replace:
        raise click.ClickException(f"{record_path().name} records a deployment that is on this chain; "
                                   "--replace to deploy again")
    return members, oracle


def checked_deploy(account, members, oracle, replace, **params):
    """:func:`check_deploy`, then deploy on the connected network and record it.

    Returns ``(contracts {name: address}, record path)``.
    """
    members, oracle = check_deploy(account, members, oracle, replace, params)
    system = deploy_and_record(account, members, oracle, params)
    return {name: c.address for name, c in system._asdict().items()}, record_path()


def write_record(system):
    """Record the deployment on the connected network: in its own file, and in the file of every network."""
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "chain_id": chain.chain_id,
        "block": chain.blocks.head.number,
        "contracts": {name: c.address for name, c in system._asdict().items()},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    net = networks.provider.network
    every = read_networks()
    every[f"{net.ecosystem.name}:{net.name}:{chain.chain_id}"] = {
        "ecosystem": net.ecosystem.name, "network": net.name, "record": path.name, **record}
    write_json_atomic(networks_path(), every)  # whole or not at all


def when(ts):
    """A timestamp [s] as UTC text."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def record_block():
    """The block of the recorded deployment: where event searches start."""
    return json.loads(record_path().read_text())["block"]


def events(event, **topics):
    """Logs of `event` since the recorded deployment, filtered by indexed arguments."""
    return list(event.range(record_block(), chain.blocks.head.number + 1, search_topics=topics or None))


def account_option(text="Your account: an ape account alias (`ape accounts list`), TEST::<n> on a local test chain; "
                        "asked for if left out."):
    """ape's --account option, with ``text`` as its help."""

    def decorate(f):
        f = ape_account_option()(f)
        f.__click_params__[-1].help = text
        return f

    return decorate


def to_0x(value):
    """0x-hex of a hash ape gives as text or bytes."""
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def tx_hash(receipt):
    """0x-hex of a receipt's transaction hash."""
    return to_0x(receipt.txn_hash)


def transact(method, *args, sender):
    """Send a transaction, or stop with one line if the sender cannot pay for gas or the
    contract would revert (its reason).

    The call is tried first (eth_call), so a refusal costs nothing.
    """
    if sender.balance == 0:
        raise click.ClickException(f"{sender.address} has no ether to pay for the transaction")
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


def estimate_on_pending():
    """Estimate gas and make calls against the pending block on ape's generic node provider.

    That provider (Ganache, or an Anvil reached as a custom network) leaves web3 asking the node
    about the latest block, so a transaction that needs the next one fails its estimate (an
    epoch's reveal due in the next block: "keys: too early") or gets too little gas; ape's test
    and Anvil providers already use the pending block.
    """
    if networks.provider.name == "node":
        networks.provider.web3.eth.default_block = "pending"


def cache_custom_networks():
    """Build the ecosystem's custom networks (ape-config's ``networks: custom``) once per process.

    Ape rebuilds them, a new network class each, whenever an ecosystem lists its networks, and it
    does so for every transaction and call (``default_transaction_type``): 4.4 ms a call with
    the two networks of `ape run chains` configured, 0.7 ms once they are kept. They come from
    the project's configuration, which does not change while a command runs (idempotent).
    """
    found = EcosystemAPI.__dict__.get("_custom_networks")
    if isinstance(found, property):
        kept = cached_property(found.fget)
        kept.__set_name__(EcosystemAPI, "_custom_networks")
        EcosystemAPI._custom_networks = kept


def load_system():
    """The recorded deployment of the current network, as contract instances.

    Raises click-friendly SystemExit with one line when nothing is deployed here.
    """
    estimate_on_pending()
    cache_custom_networks()
    path = record_path()
    if not path.is_file():
        raise SystemExit(f"no deployment recorded for this network ({path.name}); run `ape run deploy` first")
    if not (dao := recorded_system_here()):
        raise SystemExit(f"the DAO recorded in {path.name} is not on this chain (was the node restarted?)")
    return system_at(project, dao)


store_option = click.option(
    "--store", "url", default=None, metavar="PATH|URL",
    help="SQLite path or sqlite:/// URL of the store (default: $GEM_STORE, else var/store.sqlite).")


def open_store(url, must_exist=False, made_by="index follow"):
    """``(url, connection)`` of the store (default $GEM_STORE, else var/store.sqlite), or one clear line.

    ``must_exist``: refuse a store file that is not there rather than create an empty one (the
    line names the command ``ape run <made_by>`` that makes it).
    """
    url = str(url or store.read_store_url())
    try:
        path = store.store_path(url)
        if must_exist and (path == ":memory:" or not Path(path).is_file()):
            raise click.ClickException(f"no store at {url}; `ape run {made_by} --store {url}` makes one")
        return url, store.open_store(url)
    except ValueError as e:  # an unsupported URL, a store of another schema
        raise click.ClickException(str(e)) from None
    except OSError as e:  # its folder cannot be made
        raise click.ClickException(f"cannot open the store {url}: {e.strerror or e}") from None
    except sqlite3.Error as e:  # not a SQLite file, a folder, no permission
        raise click.ClickException(f"cannot open the store {url}: {e}") from None


@contextlib.contextmanager
def ctrl_c():
    """Inside, Ctrl-C (SIGINT) raises KeyboardInterrupt, so a long-running command stops cleanly and says so.

    ape's own handler exits the process with status 130 at once (no cleanup, no last line).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
