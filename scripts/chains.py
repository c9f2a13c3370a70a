"""The system on several chains at once: local Anvils started, the system deployed on each, one record of all.

    ape run chains up --account TEST::0 --member 0xA... --member 0xB... --member 0xC... --oracle 0xD...
    ape run chains show [--json]
    ape run chains down

`up` deploys on every `--network` (default: the two local chains of ape-config.yaml,
ethereum:anvil-a:node with chain id 31338 on port 8546 and ethereum:anvil-b:node with
31339 on 8547), starting an Anvil with the network's chain id on its node's port when none
answers there. Every input is checked on every network before anything is sent. Each
network's deployment is recorded in its own file, which the actors' commands read
(`--network ethereum:anvil-a:node`), and in deployments/networks.json, the one file naming
every network's addresses. `down` stops the Anvils `up` started (their logs and process ids
are in var/chains/).
"""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import click
from ape import config, networks, project

from ._system import check_deploy, checked_deploy, deploy_options, emit, json_option, networks_path, read_networks, table

LOCAL_CHAINS = ("ethereum:anvil-a:node", "ethereum:anvil-b:node")
START_TIMEOUT = 20  # s an Anvil may take to answer


def chains_folder():
    """Logs and process ids of the Anvils `up` started."""
    return Path(project.path) / "var" / "chains"


def chain_id_at(uri):
    """The chain id of the node answering at ``uri``, or None when none answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(uri, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return int(json.loads(answer.read())["result"], 16)
    except (OSError, ValueError, KeyError):
        return None


def anvil_command(chain_id, port):
    """Anvil with a chain id and port, funding the test accounts of ape-config.yaml (TEST::<n>)."""
    test = config.get_config("test")
    return ["anvil", "--chain-id", str(chain_id), "--port", str(port), "--mnemonic", test.mnemonic,
            "--accounts", str(test.number_of_accounts), "--silent"]


def start_anvil(choice):
    """Start an Anvil for ``choice`` when no node answers at its URI; its pid, or None when one answered."""
    provider = networks.get_provider_from_choice(choice)
    uri, chain_id = provider.uri, provider.network.chain_id
    if (found := chain_id_at(uri)) is not None:
        if found != chain_id:
            raise click.ClickException(f"the node at {uri} is chain {found}, not {choice}'s {chain_id}")
        return None
    where = urlparse(uri)
    if where.hostname not in ("127.0.0.1", "localhost") or not where.port:
        raise click.ClickException(f"no node answers at {uri} for {choice}")
    folder = chains_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = provider.network.name
    try:
        with open(folder / f"{name}.log", "w") as log:
            process = subprocess.Popen(anvil_command(chain_id, where.port), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # outlives this command
    except FileNotFoundError:
        raise click.ClickException("anvil is not on PATH (`make env` installs it under node_modules/@foundry-rs)") from None
    (folder / f"{name}.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while chain_id_at(uri) != chain_id:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise click.ClickException(f"anvil for {choice} did not answer at {uri}; see {folder / name}.log")
        time.sleep(0.2)
    return process.pid


@click.group()
def cli():
    """The system on several chains: start local chains, deploy on each, list every network's deployment."""


@cli.command()
@click.option("--network", "choices", multiple=True, default=LOCAL_CHAINS, show_default=True,
              metavar="ECOSYSTEM:NETWORK:PROVIDER", help="A network to deploy on (repeat).")
@deploy_options
@json_option
def up(choices, account, members, oracle, replace, as_json, **params):
    """Deploy the system on every network, starting a local Anvil for any that no node answers yet.

    Every input is checked on every network first (addresses, the DAO's rules, the
    deployer's ether, a deployment already there), so nothing is sent unless all can be deployed.
    """
    started = {choice: start_anvil(choice) for choice in choices}
    for choice in choices:
        with networks.parse_network_choice(choice):
            check_deploy(account, members, oracle, replace, params)
    deployed = []
    for choice in choices:
        with networks.parse_network_choice(choice) as provider:
            contracts, path = checked_deploy(account, members, oracle, replace, **params)
            deployed.append({"network": choice, "chain_id": provider.chain_id, "uri": provider.uri,
                             "anvil_pid": started[choice], "record": str(path), "contracts": contracts})
    text = table([{"network": d["network"], "chain_id": d["chain_id"], "registry": d["contracts"]["registry"],
                   "dao": d["contracts"]["dao"]} for d in deployed]) + [f"recorded in {networks_path()}"]
    emit(as_json, {"networks": deployed, "file": str(networks_path())}, text)


@cli.command()
@json_option
def show(as_json):
    """Every network's recorded deployment (deployments/networks.json): chain id, block, registry, DAO."""
    every = read_networks()
    if not every:
        raise click.ClickException(f"no deployment recorded in {networks_path()}; `ape run chains up` makes one")
    rows = [{"network": key, "chain_id": r["chain_id"], "block": r["block"], "registry": r["contracts"]["registry"],
             "dao": r["contracts"]["dao"]} for key, r in sorted(every.items())]
    emit(as_json, every, table(rows))


def _is_anvil(pid):
    try:
        return b"anvil" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@cli.command()
@json_option
def down(as_json):
    """Stop the Anvils `up` started (those whose process ids are in var/chains/)."""
    stopped = {}
    for pid_file in sorted(chains_folder().glob("*.pid")):
        pid = int(pid_file.read_text())
        if _is_anvil(pid):
            os.kill(pid, signal.SIGTERM)
            stopped[pid_file.stem] = pid
        pid_file.unlink()
    emit(as_json, {"stopped": stopped},
         [f"stopped {name} (pid {pid})" for name, pid in stopped.items()] or "no Anvil started by `chains up` runs")
