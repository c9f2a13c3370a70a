"""The oracle's commands: settle each finished epoch, verify a published table, show progress.

    ape run oracle run --account ALIAS [--store var/store.sqlite] [--once] [--mine]
    ape run oracle verify EPOCH [--table PATH]    # exits 1 when the table and the chain differ
    ape run oracle status [--store var/store.sqlite]

`run` takes every finished epoch not yet settled through commit, reveal (B blocks later),
scoring and post; it keeps going (polling) unless `--once`, which stops when every epoch
waits for time rather than blocks. `--mine` (local chains only) mines the B blocks itself.
The account needs the oracle role on EpochKeys and RewardDistributor (granted by DAO
proposal); a keyfile account must sign unattended (APE_ACCOUNTS_<alias>_PASSPHRASE).
Its files (state, epoch keys with mode 0600, published tables) live next to the store
unless `--folder` says otherwise; tables are posted as file:// URIs unless `--base-url`.
Stopped at any point, `run` resumes without committing, revealing or posting twice.
"""

import logging

import click
from ape import chain, networks
from ape.cli import ConnectedProviderCommand, account_option

from offchain import oracle
from offchain.index import store

from ._system import load_system, when

store_option = click.option("--store", "url", default=None, help="SQLite path or sqlite:/// URL of the store.")
folder_option = click.option("--folder", type=click.Path(file_okay=False), default=None,
                             help="Folder of the oracle's files (default: the store's folder).")


def _files(url, folder):
    """The store's URL and the oracle's folder."""
    url = url or store.read_store_url()
    try:
        return url, folder or oracle.folder_of_store(url)
    except (oracle.OracleError, ValueError) as e:
        raise click.ClickException(str(e)) from None


@click.group()
def cli():
    """Oracle: epoch keys, scores and reward roots."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@store_option
@folder_option
@click.option("--base-url", default=None, help="Tables are published at <base-url>/epoch-<e>.json.")
@click.option("--from-epoch", type=click.IntRange(0), default=None,
              help="First epoch, when the state is new (default: the distributor's first).")
@click.option("--once", is_flag=True, help="Stop when every epoch waits for time.")
@click.option("--mine", is_flag=True, help="Mine the blocks a reveal waits for (local chains only).")
@click.option("--poll", type=click.FloatRange(0.1), default=12.0, help="Seconds between checks of the chain.")
def run(account, url, folder, base_url, from_epoch, once, mine, poll):
    """Commit, reveal, score and post every finished epoch (resumable)."""
    if mine and not networks.provider.network.is_local:
        raise click.ClickException("--mine is for local chains only")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    oracle.log.addHandler(handler)
    oracle.log.setLevel(logging.INFO)
    contracts = load_system()
    url, folder = _files(url, folder)
    try:
        conn = store.open_store(url)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    try:
        engine = oracle.Oracle(contracts, account, conn, folder, base_url=base_url, from_epoch=from_epoch)
        waiting = oracle.run(engine, once=once, mine=(lambda n: chain.mine(n)) if mine else None, poll=poll)
    except oracle.OracleError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        click.echo("oracle stopped; `run` resumes where it was")
        return
    finally:
        conn.close()
    for epoch, action in sorted(waiting.items()):
        click.echo(f"epoch {epoch}: {action.state}, waiting {action.wait} s ({action.note or action.kind})")


@cli.command(cls=ConnectedProviderCommand)
@click.argument("epoch", type=click.IntRange(0))
@click.option("--table", "table_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The table file (default: what the posted URI points to, file:// or http(s)://).")
def verify(epoch, table_file):
    """Recompute an epoch's lottery, amounts and root from the chain and its table; exit 1 on a mismatch."""
    contracts = load_system()
    settled = oracle.get_settlement(contracts.distributor, epoch)
    if settled.status != oracle.POSTED:
        raise click.ClickException(f"epoch {epoch} is not posted ({(settled.status or 'not settled').lower()})")
    try:
        if table_file:
            table = oracle.read_table(table_file)
        else:
            uri = oracle.get_posted_event(contracts.distributor, epoch, int(contracts.keys.committed_block(epoch)))[0]
            table = oracle.get_table(uri)
        problems = oracle.verify_epoch(contracts, epoch, table)
    except oracle.OracleError as e:
        raise click.ClickException(str(e)) from None
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
    winners = sum(r.winner for r in table.rows)
    click.echo(f"epoch {epoch}: the table matches the chain: {len(table.rows)} miners, {winners} winners, "
               f"total {table.total / 10**18:g} DECA, root 0x{table.root.hex()}")


@cli.command(cls=ConnectedProviderCommand)
@store_option
@folder_option
@click.option("--last", type=click.IntRange(1), default=24, help="Show this many epochs.")
def status(url, folder, last):
    """The oracle's epochs as its state file and the chain show them."""
    contracts = load_system()
    _, folder = _files(url, folder)
    state = oracle.read_state(oracle.state_path(folder))
    if state is None:
        click.echo(f"no oracle state in {folder}")
        return
    genesis = int(contracts.registry.genesis())
    last_finished = oracle.get_last_finished_epoch(contracts)
    click.echo(f"first unsettled epoch {state['from_epoch']}; last finished {last_finished}")
    records = sorted(((int(e), r) for e, r in state["epochs"].items()), key=lambda x: x[0])[-last:]
    for epoch, record in records:
        line = f"epoch {epoch} (ends {when(genesis + oracle.EPOCH_SECONDS * (epoch + 1))}): {record['state']}"
        if record["state"] not in oracle.FINAL:
            view = oracle.get_epoch_view(contracts, epoch)
            line += (f"; chain: committed in block {view.committed_block or '-'}, "
                     f"revealed {view.revealed}, posted {view.posted}, swept {view.swept}")
        if record.get("winners") is not None:
            total = int(record["total"]) / 10**18
            line += f"; {record['miners']} miners, {record['winners']} winners, total {total:g} DECA"
        click.echo(line)
