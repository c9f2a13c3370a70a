"""The gateway operator's commands: the server devices post signed batches to (relayed with submit_many), and
the devices' health as they report it.

    ape run gateway serve --account ALIAS [--host 127.0.0.1] [--port 8787] [--store var/store.sqlite] [--interval 2]
    ape run gateway devices [--store var/store.sqlite] [--json]

`serve` serves POST /batches, GET /batches/<digest>, GET /health and GET /devices[/<address>],
checks every batch that costs no gas (shape, proof of work, the device's signature, the SBT,
seq and readings continuing the chain) and its health report when it has one (shape, the
device's signature), queues accepted batches in the store with the devices' latest reports
and relays the batches to the recorded deployment's MeasurementRegistry. On start it prints
one line with the address it listens on and one with the registry, the relaying account and
the queue; Ctrl-C stops it. `devices` lists each device's latest report from the store.

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

from ._system import account_option, ctrl_c, emit, json_option, load_system, open_store, store_option, table, when


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


@click.group()
def cli():
    """Gateway: serve the devices' batches and relay them to the registry; the devices' health reports."""


@cli.command(cls=ConnectedProviderCommand)
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
def serve(account, host, port, url, interval):
    """Serve POST /batches, GET /batches/<digest>, GET /health and GET /devices; relay accepted batches to the registry.

    A refused batch gets a 4xx answer with one line of JSON, {"error": "..."}. A batch's health
    report (optional) is checked and kept, the latest per device: GET /devices lists them,
    GET /devices/<address> gives one. Requests and relay rounds are logged to stderr.
    """
    system = load_system()
    registry = system.registry
    port = _port(port)
    if account.balance == 0:
        raise click.ClickException(f"{account.address} has no ether to pay for the relay's transactions")
    url, conn = open_store(url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    client = gateway.ApeRegistry(registry, account, indexer.get_deployment_block(registry))
    gw = gateway.Gateway(conn, client, interval=interval)

    def started(addresses):
        pending = store.read_queue_counts(conn).get("pending", 0)
        click.echo(f"gateway listening on {', '.join(_url(a) for a in addresses)}: "
                   "POST /batches, GET /batches/<digest>, GET /health, GET /devices; Ctrl-C stops")
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


HEALTH_COLUMNS = [("device", "device"), ("seq", "seq"), ("epoch", "epoch"), ("boots", "boots"), ("uptime", "uptime s"),
                  ("i2c_errors", "i2c errors"), ("sensor_overflows", "overflows"), ("missed_samples", "missed"),
                  ("clock_backs", "clock back"), ("posts_failed", "posts failed"), ("batches_rejected", "rejected"),
                  ("reported", "reported"), ("grown", "grown since the previous report")]


def _health_row(report):
    """A table row of a device's report: its counters, and the faults that grew (or that it is the first)."""
    grown = ", ".join(report["grown"]) or "-"
    return {**report, **report["health"], "reported": when(report["received_at"]),
            "grown": grown if report["previous"] else "first report"}


@cli.command(cls=ConnectedProviderCommand)
@store_option
@json_option
def devices(url, as_json):
    """Each device's latest health report, as the gateway keeps it: the counters and uptime it signed with its
    newest batch (seq, epoch), and the faults grown since its previous report.

    Faults: boots, i2c_errors, sensor_overflows, missed_samples, clock_backs, posts_failed and
    batches_rejected. The counters count since the device's storage was made; the uptime since
    its last boot. The store is read, never made (`ape run gateway serve` makes it).
    """
    url, conn = open_store(url, must_exist=True, made_by="gateway serve")
    try:
        reports = gateway.device_reports(conn)
    finally:
        conn.close()
    flagged = sum(1 for r in reports if r["grown"])
    if reports:
        text = table([_health_row(r) for r in reports], HEALTH_COLUMNS) + [
            f"{len(reports)} device(s) reported to {url}; {flagged} with faults grown since their previous report"]
    else:
        text = f"no health reports in {url} yet: devices send them with their batches"
    emit(as_json, {"store": url, "devices": reports, "flagged": flagged}, text)
