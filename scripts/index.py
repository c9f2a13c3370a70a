"""The indexer's commands: follow the registry's events into the store, rebuild it, verify it.

    ape run index follow [--store var/store.sqlite] [--watch 5]
    ape run index rebuild
    ape run index verify        # exits 1 when the store and the chain differ

The store is a SQLite path or sqlite:/// URL (default: $GEM_STORE, else var/store.sqlite).
"""

import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.index import indexer, store

from ._system import load_system

store_option = click.option("--store", "url", default=None, help="SQLite path or sqlite:/// URL of the store.")


def _open(url):
    return store.open_store(url or store.read_store_url())


def _registry():
    return load_system().registry


@click.group()
def cli():
    """Indexer: the chain's measurements into the off-chain store."""


@cli.command(cls=ConnectedProviderCommand)
@store_option
@click.option("--confirmations", type=click.IntRange(0), default=0, help="Blocks left unread behind the head.")
@click.option("--watch", type=click.FloatRange(0), default=0, help="Keep following, every this many seconds.")
def follow(url, confirmations, watch):
    """Index new BatchAccepted events (resumes where it stopped)."""
    registry, conn = _registry(), _open(url)
    while True:
        added = indexer.follow(registry, conn, confirmations=confirmations)
        click.echo(f"{added} new batches, indexed to block {store.read_meta(conn, indexer.KEY_LAST_BLOCK)}")
        if not watch:
            return
        time.sleep(watch)


@cli.command(cls=ConnectedProviderCommand)
@store_option
def rebuild(url):
    """Empty the index and read every batch again from the registry's deployment."""
    added = indexer.rebuild(_registry(), _open(url))
    click.echo(f"rebuilt: {added} batches")


@cli.command(cls=ConnectedProviderCommand)
@store_option
@click.option("--no-counts", is_flag=True, help="Skip the per-epoch legal_count calls.")
def verify(url, no_counts):
    """Compare the store with the chain; exit 1 if anything differs."""
    diffs = indexer.verify(_registry(), _open(url), counts=not no_counts)
    for d in diffs:
        click.echo(f"{d.kind}\t{d.batch_hash or '-'}\t{d.detail}")
    if diffs:
        raise SystemExit(1)
    click.echo("store and chain agree")
