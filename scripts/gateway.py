"""The gateway: devices post signed batches on 127.0.0.1, the relay anchors them with submit_many.

    ape run gateway --account ALIAS [--port 8787] [--store var/store.sqlite]

The account pays for the relay's transactions; a keyfile account must be able to sign
unattended (ape reads its passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE). The port
defaults to $GEM_GATEWAY_PORT, else 8787; the store to $GEM_STORE, else var/store.sqlite.
Stopping it loses nothing: accepted batches wait in the store until the next start.
"""

import asyncio
import logging

import click
from ape.cli import ConnectedProviderCommand, account_option

from offchain import gateway
from offchain.index import indexer, store

from ._system import load_system


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; devices on a LAN need the host's LAN address.")
@click.option("--port", type=click.IntRange(0, 65_535), default=None, help="TCP port (default $GEM_GATEWAY_PORT or 8787).")
@click.option("--store", "url", default=None, help="SQLite path or sqlite:/// URL of the store.")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, help="Seconds between relay rounds.")
def cli(account, host, port, url, interval):
    """Serve POST /batches, GET /batches/<digest> and GET /health; relay to the registry."""
    system = load_system()
    registry = system.registry
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    client = gateway.ApeRegistry(registry, system.sbt, account, indexer.get_deployment_block(registry))
    gw = gateway.Gateway(store.open_store(url or store.read_store_url()), client, interval=interval)
    try:
        asyncio.run(gateway.serve(gw, host=host, port=port))
    except KeyboardInterrupt:
        click.echo("gateway stopped; pending batches stay queued")
    finally:
        gw.close()
