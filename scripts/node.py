"""The storage node operator's commands: register by DAO proposal, list nodes and requests, fill a request.

    ape run node register --account MEMBER --meter 0x<meter address> --capacity-kwh 50 --lat 39.74 --lon -105.17 \
        [-d "why"]
    ape run node list
    ape run node requests [--node 1] [--status open]
    ape run node fill 7 --statement delivered.json --account ALIAS

Every command takes --json (one JSON object: energy in mWh, locations in micro-degrees, times in
s; the transaction hash when one was sent). Every input is checked against the chain before
anything is sent: a refusal is one line and costs nothing.
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from offchain import market
from offchain.protocol import meter
from offchain.protocol.batch import recover_signer

from ._system import account_option, address, emit, json_option, load_system, table, transact, tx_hash, when

ZERO_ADDRESS = "0x" + "00" * 20
MAX_CAPACITY_MWH = 2**128 - 1  # StorageNode's bound


def _existing_node(storage, node, option=None):
    count = storage.node_count()
    if not 1 <= node <= count:
        message = f"there is no storage node {node} ({count} registered)"
        raise click.BadParameter(message, param_hint=option) if option else click.ClickException(message)


@click.group()
def cli():
    """Storage nodes: registration by the DAO, the energy they hold, energy requests and filling them."""


@cli.command(cls=ConnectedProviderCommand)
@account_option("A DAO member's account (an ape account alias; TEST::<n> on a local test chain).")
@click.option("--meter", "meter_address", required=True,
              help="Address of the node meter's signing key (it signs what the node receives and delivers).")
@click.option("--capacity-kwh", type=click.FloatRange(min=0.001), required=True, help="Storage capacity [kWh].")
@click.option("--lat", type=click.FloatRange(-90, 90), required=True, help="Latitude [degrees, north positive].")
@click.option("--lon", type=click.FloatRange(-180, 180), required=True, help="Longitude [degrees, east positive].")
@click.option("-d", "--description", default=None, help="Ballot text (default: says what is registered).")
@json_option
def register(account, meter_address, capacity_kwh, lat, lon, description, as_json):
    """Propose to the DAO that a node be registered (you must be a member); the node exists once the
    ballot passes and is executed."""
    system = load_system()
    dao, storage = system.dao, system.storage
    meter_address = address(meter_address, "--meter")
    if meter_address == ZERO_ADDRESS:
        raise click.BadParameter("the zero address cannot sign statements", param_hint="--meter")
    capacity_mwh = round(capacity_kwh * market.MWH_PER_KWH)
    if capacity_mwh > MAX_CAPACITY_MWH:
        raise click.BadParameter(f"{capacity_kwh:g} kWh is more than a node can hold", param_hint="--capacity-kwh")
    if not dao.is_member(account):
        raise click.ClickException(f"{account.address} is not a DAO member: ask one to propose the node")
    for n in market.get_nodes(storage):
        if n.meter == meter_address:
            raise click.ClickException(f"meter {meter_address} already signs for node {n.node}")
    args = (meter_address, capacity_mwh, round(lat * 1e6), round(lon * 1e6))
    calldata = storage.register_node.encode_input(*args)
    description = description or f"register storage node: meter {args[0]}, {capacity_kwh:g} kWh at {lat}, {lon}"
    tx = transact(dao.propose, [(storage.address, 0, calldata)], description, sender=account)
    p = tx.decode_logs(dao.ProposalCreated)[0]
    emit(as_json, {
        "proposal_id": p.proposal_id, "description": description, "meter": meter_address,
        "capacity_mwh": capacity_mwh, "lat_udeg": args[2], "lon_udeg": args[3], "vote_start": p.vote_start,
        "vote_end": p.vote_end, "tx_hash": tx_hash(tx),
    }, f"proposal {p.proposal_id}: {description}; vote from {when(p.vote_start)} with "
       f"`ape run dao vote {p.proposal_id} for`")


@cli.command(name="list", cls=ConnectedProviderCommand)
@json_option
def list_nodes(as_json):
    """Every node with its energy [mWh]: stored = tokenized (backs ENERGY) + unpaid credit; and the parity of
    the nodes' tokenized energy with the ENERGY supply."""
    system = load_system()
    parity = market.get_parity(system.storage, system.energy)
    nodes = [dict(n._asdict(), status="active" if n.active else "suspended",
                  free_mwh=n.capacity_mwh - n.stored_mwh) for n in parity.nodes]
    data = {"nodes": nodes, "tokenized_mwh": parity.tokenized_mwh, "unpaid_mwh": parity.unpaid_mwh,
            "energy_supply_mwh": parity.supply_mwh, "parity": parity.holds}
    if not nodes:
        lines = ["no storage nodes registered"]
    else:
        rows = [dict(n, location=f"{n['lat_udeg'] / 1e6:.6f}, {n['lon_udeg'] / 1e6:.6f}") for n in nodes]
        lines = table(rows, [("node", "node"), ("status", "status"), ("meter", "meter"), ("location", "location"),
                             ("capacity_mwh", "capacity mWh"), ("stored_mwh", "stored"),
                             ("tokenized_mwh", "tokenized"), ("unpaid_mwh", "unpaid"), ("free_mwh", "free")])
    lines.append(f"tokenized {parity.tokenized_mwh} mWh, ENERGY supply {parity.supply_mwh} mWh: "
                 f"{'parity holds' if parity.holds else 'PARITY BROKEN'}")
    emit(as_json, data, lines)


@cli.command(cls=ConnectedProviderCommand)
@click.option("--node", type=click.IntRange(1), default=None, help="Only this node's requests.")
@click.option("--status", "wanted", type=click.Choice(list(market.REQUEST_STATUS.values())), default=None,
              help="Only requests in this state.")
@json_option
def requests(node, wanted, as_json):
    """Energy requests: ENERGY escrowed by a buyer for energy out of a node, filled with the meter's statement."""
    storage = load_system().storage
    if node is not None:
        _existing_node(storage, node, "--node")
    rows = []
    for request_id in range(1, storage.request_count() + 1):
        r = storage.requests(request_id)
        if (node is not None and r.node != node) or (wanted and market.REQUEST_STATUS[r.status] != wanted):
            continue
        rows.append({"request_id": request_id, "node": r.node, "buyer": r.buyer, "amount_mwh": r.amount_mwh,
                     "created": r.created, "deadline": r.deadline, "status": market.REQUEST_STATUS[r.status],
                     "delivered_mwh": r.delivered_mwh})
    if rows:
        shown = [dict(r, due=when(r["deadline"]), delivered=r["delivered_mwh"] if r["status"] == "filled" else "-")
                 for r in rows]
        lines = table(shown, [("request_id", "request"), ("node", "node"), ("buyer", "buyer"),
                              ("amount_mwh", "mWh"), ("status", "status"), ("due", "deadline"),
                              ("delivered", "delivered mWh")])
    else:
        lines = ["no energy requests"]
    emit(as_json, {"requests": rows}, lines)


@cli.command(cls=ConnectedProviderCommand)
@account_option("The account that sends the statement and pays the gas: anyone's (an ape account alias; TEST::<n> "
                "on a local test chain).")
@click.argument("request_id", type=click.IntRange(1))
@click.option("--statement", "path", required=True, type=click.Path(dir_okay=False),
              help="The node meter's signed 'delivered out' statement (JSON) for this request and its buyer.")
@json_option
def fill(account, request_id, path, as_json):
    """Fill energy request REQUEST_ID with the node meter's signed statement: the delivered ENERGY is burned,
    the rest refunded to the buyer (anyone may submit the statement)."""
    storage = load_system().storage
    try:
        s = meter.read_statement(path, meter.DELIVERED_OUT)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if request_id > storage.request_count():
        raise click.ClickException(f"there is no energy request {request_id} ({storage.request_count()} made)")
    r = storage.requests(request_id)
    if r.status != 1:
        raise click.ClickException(f"request {request_id} is {market.REQUEST_STATUS[r.status]}, not open")
    head = chain.blocks.head.timestamp
    if head > r.deadline:
        raise click.ClickException(f"request {request_id} expired at {when(r.deadline)}; the buyer may cancel it")
    if s.id != request_id or s.node != r.node:
        raise click.ClickException(f"{path} is for request {s.id} at node {s.node}, not request {request_id} "
                                   f"at node {r.node}")
    if s.party != r.buyer:
        raise click.ClickException(f"{path} names {s.party}, not the request's buyer {r.buyer}")
    if s.energy_mwh > r.amount_mwh:
        raise click.ClickException(f"{path} states {s.energy_mwh} mWh, more than the {r.amount_mwh} requested")
    n = storage.nodes(r.node)
    if not n.active:
        raise click.ClickException(f"node {r.node} is suspended: it fills nothing")
    if s.energy_mwh > n.tokenized_mwh:
        raise click.ClickException(f"node {r.node} holds {n.tokenized_mwh} mWh of tokenized energy, "
                                   f"less than the {s.energy_mwh} stated")
    if not (r.created <= s.period_start < s.period_end <= head):
        raise click.ClickException(f"{path}: the period {when(s.period_start)} .. {when(s.period_end)} must start "
                                   f"after the request ({when(r.created)}) and be over ({when(head)})")
    digest = storage.statement_digest(s.node, s.id, s.party, s.period_start, s.period_end, s.energy_mwh,
                                      meter.DELIVERED_OUT)
    if recover_signer(bytes(digest), s.signature) != n.meter:
        raise click.ClickException(f"{path}: not signed by node {r.node}'s meter {n.meter} "
                                   "(or not for this chain's StorageNode)")
    tx = transact(storage.fill, request_id, s.energy_mwh, s.period_start, s.period_end, s.signature,
                  sender=account)
    e = tx.decode_logs(storage.EnergyFilled)[0]
    emit(as_json, {
        "request_id": request_id, "node": r.node, "buyer": r.buyer, "delivered_mwh": e.delivered_mwh,
        "refunded_mwh": e.refunded_mwh, "period_start": s.period_start, "period_end": s.period_end,
        "status": "filled", "tx_hash": tx_hash(tx),
    }, f"request {request_id} filled: {e.delivered_mwh} mWh delivered (ENERGY burned), "
       f"{e.refunded_mwh} mWh refunded to {r.buyer}")
