"""The gateway operator's server: devices post signed batches over HTTP, the relay anchors them with submit_many.

    ape run gateway --account ALIAS [--host 127.0.0.1] [--port 8787] [--store var/store.sqlite] [--interval 2]

It serves POST /batches, GET /batches/<digest> and GET /health, checks every batch that
costs no gas (shape, proof of work, the device's signature, the SBT, seq and readings
continuing the chain), queues accepted ones in the store and relays them to the recorded
deployment's MeasurementRegistry. On start it prints one line with the address it listens
on and one with the registry, the relaying account and the queue; Ctrl-C stops it.

The account pays for the relay's transactions; a keyfile account must be able to sign
unattended (ape reads its passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE). The port
defaults to $GEM_GATEWAY_PORT, else 8787 (0 picks a free one); the store to $GEM_STORE,
else var/store.sqlite. Stopping it loses nothing: accepted batches wait in the store until
the next start.
"""

import asyncio
import errno
import logging

import click
from aiohttp import web
from ape import chain
from ape.cli import ConnectedProviderCommand

from offchain import gateway
from offchain.index import indexer, store

from ._system import account_option, ctrl_c, load_system, open_store


def _port(port):
    """The --port, else $GEM_GATEWAY_PORT, else 8787; one line when the variable is not a port."""
    if port is not None:
        return port
    try:
        port = gateway.read_port()
    except ValueError:
        port = -1
    if not 0 <= port <= 65_535:
        raise click.ClickException("GEM_GATEWAY_PORT is not a TCP port (0 to 65535)")
    return port


def _url(address):
    host, port = address[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve(gw, host, port, started):
    """Listen, call ``started(addresses)``, serve until cancelled (Ctrl-C)."""
    runner = web.AppRunner(gw.app(relay=True))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:  # the port is taken, the address is not this host's
        await runner.cleanup()
        reason = "the port is in use" if e.errno == errno.EADDRINUSE else str(e.strerror or e).rsplit(": ", 1)[-1]
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None
    try:
        started(runner.addresses)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@click.command(cls=ConnectedProviderCommand)
@account_option("The relaying account (alias or TEST::<index>); it pays for submit_many.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; devices on a LAN need the host's LAN address (or a reverse proxy).")
@click.option("--port", type=click.IntRange(0, 65_535), default=None,
              help="TCP port (default $GEM_GATEWAY_PORT, else 8787; 0 picks a free one).")
@click.option("--store", "url", default=None, metavar="PATH|URL",
              help="SQLite path or sqlite:/// URL of the store holding the queue (default: $GEM_STORE, else "
                   "var/store.sqlite).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True,
              help="Seconds between relay rounds when the queue is empty.")
def cli(account, host, port, url, interval):
    """Serve POST /batches, GET /batches/<digest> and GET /health; relay accepted batches to the registry.

    A refused batch gets a 4xx answer with one line of JSON, {"error": "..."}. Requests and
    relay rounds are logged to stderr.
    """
    system = load_system()
    registry = system.registry
    port = _port(port)
    if account.balance == 0:
        raise click.ClickException(f"{account.address} has no ether to pay for the relay's transactions")
    url, conn = open_store(url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    client = gateway.ApeRegistry(registry, system.sbt, account, indexer.get_deployment_block(registry))
    gw = gateway.Gateway(conn, client, interval=interval)

    def started(addresses):
        pending = store.read_queue_counts(conn).get("pending", 0)
        click.echo(f"gateway listening on {', '.join(_url(a) for a in addresses)}: "
                   "POST /batches, GET /batches/<digest>, GET /health; Ctrl-C stops")
        click.echo(f"relaying to MeasurementRegistry {registry.address} on chain {chain.chain_id} as "
                   f"{account.address}; queue in {url} ({pending} pending)")

    try:
        with ctrl_c():
            asyncio.run(_serve(gw, host, port, started))
    except KeyboardInterrupt:
        pending = store.read_queue_counts(conn).get("pending", 0)
        click.echo(f"gateway stopped; {pending} pending batches stay queued in {url} for the next start")
    finally:
        gw.close()
        conn.close()
