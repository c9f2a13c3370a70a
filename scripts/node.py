"""The storage node's commands: register by DAO proposal, list nodes and requests, fill a request.

    ape run node register --account MEMBER --meter 0x<meter address> --capacity-kwh 50 --lat 39.74 --lon -105.17
    ape run node list
    ape run node requests [--node 1]
    ape run node fill 7 --statement delivered.json --account ALIAS
"""

import click
from ape.cli import ConnectedProviderCommand, account_option
from eth_utils import is_address, to_checksum_address

from offchain import market
from offchain.protocol import meter

from ._system import load_system, transact, when

REQUEST_STATUS = {1: "open", 2: "filled", 3: "cancelled"}


@click.group()
def cli():
    """Storage nodes: registration, energy requests, deliveries out."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--meter", "meter_address", required=True, help="Address of the node meter's signing key.")
@click.option("--capacity-kwh", type=click.FloatRange(min=0.001), required=True, help="Storage capacity [kWh].")
@click.option("--lat", type=click.FloatRange(-90, 90), required=True, help="Latitude [degrees].")
@click.option("--lon", type=click.FloatRange(-180, 180), required=True, help="Longitude [degrees].")
@click.option("-d", "--description", default=None, help="Ballot text (default: says what is registered).")
def register(account, meter_address, capacity_kwh, lat, lon, description):
    """Propose to the DAO that a node be registered."""
    system = load_system()
    dao, storage = system.dao, system.storage
    if not is_address(meter_address):
        raise click.BadParameter(f"{meter_address!r} is not an address", param_hint="--meter")
    if not dao.is_member(account):
        raise click.ClickException(f"{account.address} is not a DAO member")
    args = (to_checksum_address(meter_address), round(capacity_kwh * market.MWH_PER_KWH),
            round(lat * 1e6), round(lon * 1e6))
    calldata = storage.register_node.encode_input(*args)
    description = description or f"register storage node: meter {args[0]}, {capacity_kwh:g} kWh at {lat}, {lon}"
    tx = dao.propose([(storage.address, 0, calldata)], description, sender=account)
    pid = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
    click.echo(f"proposal {pid}: {description}; vote with `ape run dao vote {pid} for`")


@cli.command(name="list", cls=ConnectedProviderCommand)
def list_nodes():
    """Every node with its energy: stored = tokenized + unpaid credit."""
    system = load_system()
    parity = market.get_parity(system.storage, system.energy)
    if not parity.nodes:
        click.echo("no storage nodes registered")
    for n in parity.nodes:
        click.echo(f"node {n.node}: {'active' if n.active else 'suspended'}, meter {n.meter}, "
                   f"{n.lat_udeg / 1e6:.6f}, {n.lon_udeg / 1e6:.6f}; stored {n.stored_mwh} mWh of "
                   f"{n.capacity_mwh} (tokenized {n.tokenized_mwh}, unpaid {n.unpaid_mwh})")


@cli.command(cls=ConnectedProviderCommand)
@click.option("--node", type=click.IntRange(1), default=None, help="Only this node's requests.")
def requests(node):
    """Energy requests (ENERGY escrowed for energy out)."""
    storage = load_system().storage
    shown = 0
    for request_id in range(1, storage.request_count() + 1):
        r = storage.requests(request_id)
        if node is not None and r.node != node:
            continue
        shown += 1
        line = (f"request {request_id}: node {r.node}, {r.amount_mwh} mWh for {r.buyer}, "
                f"{REQUEST_STATUS[r.status]}, deadline {when(r.deadline)}")
        if r.status == 2:
            line += f", delivered {r.delivered_mwh} mWh"
        click.echo(line)
    if not shown:
        click.echo("no energy requests")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("request_id", type=click.IntRange(1))
@click.option("--statement", "path", required=True, type=click.Path(dir_okay=False),
              help="The meter's signed 'delivered out' statement (JSON).")
def fill(account, request_id, path):
    """Fill an energy request with the node meter's signed statement."""
    storage = load_system().storage
    try:
        s = meter.read_statement(path, meter.DELIVERED_OUT)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    r = storage.requests(request_id)
    if r.status != 1:
        raise click.ClickException(f"request {request_id} is not open")
    if s.id != request_id or s.node != r.node:
        raise click.ClickException(f"{path} is for request {s.id} at node {s.node}, not request {request_id} "
                                   f"at node {r.node}")
    if s.party != r.buyer:
        raise click.ClickException(f"{path} names {s.party}, not the request's buyer {r.buyer}")
    if s.energy_mwh > r.amount_mwh:
        raise click.ClickException(f"{path} states {s.energy_mwh} mWh, more than the {r.amount_mwh} requested")
    tx = transact(storage.fill, request_id, s.energy_mwh, s.period_start, s.period_end, s.signature,
                  sender=account)
    e = tx.decode_logs(storage.EnergyFilled)[0]
    click.echo(f"request {request_id} filled: {e.delivered_mwh} mWh delivered (ENERGY burned), "
               f"{e.refunded_mwh} mWh refunded to {r.buyer}")
