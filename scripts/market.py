"""The energy market at a glance, and an ENERGY holder's commands.

    ape run market show                       # pool reserves, prices, parity of nodes and ENERGY
    ape run market review 3                   # what the DAO checks before it votes on payment request 3
    ape run market buy --account ALIAS --node 1 --amount-mwh 250000 [--hours 24]
    ape run market requests [--buyer ADDRESS] [--open]
    ape run market cancel 7 --account ALIAS

Every command takes --json: one JSON object for scripts (energy in mWh = ENERGY base units, DECA
in wei, prices in DECA wei per mWh x 1e18 as the contracts keep them, timestamps in seconds, the
transaction hash where one was sent). Every input is checked before anything is sent; a refusal
is one line.
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from offchain import market

from ._system import account_option, address, emit, json_option, load_system, table, transact, tx_hash, when

MAX_HOURS = 720  # StorageNode.MAX_REQUEST_WINDOW: 30 days


@click.group()
def cli():
    """Energy market: the DECA/ENERGY pool, payments, energy out of the nodes.

    Energy is counted in mWh; one ENERGY base unit is one mWh of paid (tokenized) energy in a
    storage node. Prices are DECA wei per mWh x 1e18 on chain, DECA per kWh in text.
    """


@cli.command(cls=ConnectedProviderCommand)
@json_option
def show(as_json):
    """Reserves, spot and payment price, and the parity of nodes and ENERGY (exits 1 if broken)."""
    system = load_system()
    pool, desk = system.pool, system.desk
    rd, re, ts = pool.reserves()
    last, spot, reference = desk.last_price(), pool.spot_price(), desk.reference_price()
    parity = market.get_parity(system.storage, system.energy)
    nodes = [{"node": n.node, "meter": n.meter, "active": n.active, "capacity_mwh": n.capacity_mwh,
              "stored_mwh": n.stored_mwh, "tokenized_mwh": n.tokenized_mwh, "unpaid_mwh": n.unpaid_mwh}
             for n in parity.nodes]
    data = {
        "pool": {"deca_reserve": rd, "energy_reserve": re, "lp_supply": pool.totalSupply(),
                 "fee_bps": pool.fee_bps(), "vault_share_bps": pool.vault_share_bps(), "last_update": ts},
        "price": {"spot": spot, "last_paid": last, "reference": reference, "band_bps": desk.price_band_bps()},
        "nodes": nodes,
        "parity": {"tokenized_mwh": parity.tokenized_mwh, "unpaid_mwh": parity.unpaid_mwh,
                   "supply_mwh": parity.supply_mwh, "holds": parity.holds},
    }
    lines = [
        f"pool: {rd / 1e18:.6f} DECA / {re} mWh of ENERGY, LP supply {pool.totalSupply()}, "
        f"fee {pool.fee_bps()} bps (vault share {pool.vault_share_bps()} bps), last update "
        f"{when(ts) if ts else 'never'}",
        f"price: spot {_kwh(spot)} DECA/kWh; payments at the price the DAO votes, refused beyond "
        f"±{desk.price_band_bps() / 100:g} % of the spot; last paid "
        + (f"{market.deca_per_kwh(last):.6f} DECA/kWh" if last else
           f"none yet, reference {market.deca_per_kwh(reference):.6f} DECA/kWh"),
    ]
    if nodes:
        for n in nodes:
            n["state"] = "active" if n["active"] else "suspended"
        lines += table(nodes, [("node", "node"), ("state", "state"), ("capacity_mwh", "capacity mWh"),
                               ("stored_mwh", "stored mWh"), ("tokenized_mwh", "tokenized mWh"),
                               ("unpaid_mwh", "unpaid mWh")])
        for n in nodes:
            del n["state"]
    else:
        lines.append("no storage nodes yet")
    lines.append(f"parity: Σ tokenized {parity.tokenized_mwh} mWh, ENERGY supply {parity.supply_mwh}: "
                 f"{'holds' if parity.holds else 'BROKEN'}")
    emit(as_json, data, lines)
    if not parity.holds:
        raise SystemExit(1)


@cli.command(cls=ConnectedProviderCommand)
@click.argument("request_id", type=click.IntRange(1))
@json_option
def review(request_id, as_json):
    """Payment request REQUEST_ID as the DAO sees it: measurements, online record, hardware, what it would mint.

    For a pending request it prints the --call to vote its approval at the suggested price.
    """
    system = load_system()
    desk, storage = system.desk, system.storage
    if request_id > desk.request_count():
        raise click.ClickException(f"no payment request {request_id} (there are {desk.request_count()})")
    r = desk.review(request_id)
    deliveries = []
    for key in desk.deliveries_of(request_id):
        d = storage.delivery(key)
        deliveries.append({"key": key, "node": d.node, "delivery_id": d.delivery_id, "period_start": d.period_start,
                           "period_end": d.period_end, "sent_mwh": d.sent_mwh, "received_mwh": d.received_mwh,
                           "loss_mwh": d.loss_mwh})
    approve_call = f"desk.approve({request_id}, {r.price})" if r.status == 1 else None
    data = {
        "request_id": request_id, "token_id": r.token_id, "miner": r.miner,
        "status": market.PAYMENT_STATUS[r.status], "reason": r.reason,
        "period_start": r.period_start, "period_end": r.period_end, "deliveries": deliveries,
        "sent_mwh": r.sent_mwh, "received_mwh": r.received_mwh, "loss_mwh": r.loss_mwh, "loss_bps": r.loss_bps,
        "hardware_status": market.HARDWARE_STATUS.get(r.hardware_status, str(r.hardware_status)),
        "online_hours": r.online_hours, "hashes": r.hashes, "last_seen": r.last_seen,
        "twap_price": r.twap_price, "spot_price": r.spot_price, "last_price": r.last_price, "price": r.price,
        "energy_to_mint": r.energy_to_mint, "deca_to_mint": r.deca_to_mint, "dao_deca": r.dao_deca,
        "approve_call": approve_call,
    }
    lines = [
        f"payment request {request_id}: token {r.token_id} of {r.miner}, {data['status']}"
        + (f" ({r.reason})" if r.reason else ""),
        f"  period {when(r.period_start)} .. {when(r.period_end)}, {r.deliveries} deliveries:",
    ]
    for d in deliveries:
        d["period"] = f"{when(d['period_start'])} .. {when(d['period_end'])}"
    lines += ["    " + line for line in table(deliveries, [
        ("node", "node"), ("delivery_id", "delivery"), ("period", "period"), ("sent_mwh", "sent mWh"),
        ("received_mwh", "received mWh"), ("loss_mwh", "loss mWh")])]
    for d in deliveries:
        del d["period"]
    lines += [
        f"  total: sent {r.sent_mwh} mWh, received {r.received_mwh} mWh, loss {r.loss_mwh} mWh "
        f"({r.loss_bps / 100:.2f} %)",
        f"  miner: hardware {'active' if r.hardware_status == 1 else 'NOT ACTIVE'}, online {r.online_hours} h, "
        f"{r.hashes} hashes, last reading {when(r.last_seen) if r.last_seen else 'never'}",
        f"  prices [DECA/kWh]: time-weighted since filing {_kwh(r.twap_price)}, spot {_kwh(r.spot_price)}, "
        f"last paid {_kwh(r.last_price)}; suggested {market.deca_per_kwh(r.price):.6f}",
        f"  approval at the suggested price would mint {r.energy_to_mint} mWh of ENERGY and offer "
        f"{r.deca_to_mint / 1e18:.6f} DECA to the pool, up to {r.dao_deca / 1e18:.6f} DECA to the vault",
    ]
    if approve_call:
        lines.append(f"  to vote it: --call \"{approve_call}\" (refused if the spot is then more than "
                     f"{desk.price_band_bps() / 100:g} % off)")
    emit(as_json, data, lines)


def _kwh(price):
    """A price for display, or "none" (0: no such price yet)."""
    return f"{market.deca_per_kwh(price):.6f}" if price else "none"


@cli.command(cls=ConnectedProviderCommand)
@account_option("The ENERGY holder who buys (its alias; TEST::<n> on a local test chain).")
@click.option("--node", type=click.IntRange(1), required=True, help="The storage node to draw energy from.")
@click.option("--amount-mwh", type=click.IntRange(1), required=True,
              help="Energy wanted [mWh] = ENERGY escrowed (base units).")
@click.option("--hours", type=click.IntRange(1, MAX_HOURS), default=24, show_default=True,
              help="Time the node has to fill; after it you may cancel and take the ENERGY back.")
@json_option
def buy(account, node, amount_mwh, hours, as_json):
    """Escrow ENERGY with a request for energy out of a node.

    Approves the StorageNode for the ENERGY first if needed (a second transaction). The node's
    meter fills the request: the ENERGY delivered is burned, the rest refunded.
    """
    system = load_system()
    storage, energy = system.storage, system.energy
    if not 1 <= node <= storage.node_count():
        raise click.ClickException(f"no storage node {node} (there are {storage.node_count()})")
    n = storage.nodes(node)
    if not n.active:
        raise click.ClickException(f"node {node} is suspended")
    if amount_mwh > n.tokenized_mwh:
        raise click.ClickException(f"node {node} holds {n.tokenized_mwh} mWh of tokenized energy, "
                                   f"less than {amount_mwh}")
    if (balance := energy.balanceOf(account)) < amount_mwh:
        raise click.ClickException(f"{account.address} holds {balance} mWh of ENERGY, less than {amount_mwh}")
    approve_tx = None
    if energy.allowance(account, storage) < amount_mwh:
        approve_tx = tx_hash(transact(energy.approve, storage, amount_mwh, sender=account))
    deadline = chain.blocks.head.timestamp + hours * 3_600
    tx = transact(storage.request_energy, node, amount_mwh, deadline, sender=account)
    e = tx.decode_logs(storage.EnergyRequested)[0]
    emit(as_json, {"request_id": e.request_id, "node": node, "buyer": account.address, "amount_mwh": amount_mwh,
                   "deadline": e.deadline, "approve_tx": approve_tx, "tx": tx_hash(tx)},
         f"energy request {e.request_id} at node {node}: {amount_mwh} mWh escrowed until {when(e.deadline)}")


def _request_record(storage, request_id):
    r = storage.requests(request_id)
    return {"request_id": request_id, "node": r.node, "buyer": r.buyer, "amount_mwh": r.amount_mwh,
            "created": r.created, "deadline": r.deadline, "status": market.REQUEST_STATUS.get(r.status, str(r.status)),
            "delivered_mwh": r.delivered_mwh}


@cli.command(cls=ConnectedProviderCommand)
@click.option("--buyer", help="Only this buyer's requests (an address).")
@click.option("--open", "only_open", is_flag=True, help="Only requests still open.")
@json_option
def requests(buyer, only_open, as_json):
    """Energy requests: node, buyer, ENERGY escrowed, deadline, status, energy delivered."""
    buyer = address(buyer, "--buyer") if buyer else None
    storage = load_system().storage
    rows = [_request_record(storage, i) for i in range(1, storage.request_count() + 1)]
    rows = [r for r in rows if (not buyer or r["buyer"] == buyer) and (not only_open or r["status"] == "open")]
    for r in rows:
        r["until"] = when(r["deadline"])
    text = table(rows, [("request_id", "id"), ("node", "node"), ("buyer", "buyer"), ("amount_mwh", "amount mWh"),
                        ("until", "deadline"), ("status", "status"), ("delivered_mwh", "delivered mWh")]) \
        if rows else "no energy requests"
    for r in rows:
        del r["until"]
    emit(as_json, {"requests": rows}, text)


@cli.command(cls=ConnectedProviderCommand)
@account_option("The buyer of the request (its alias; TEST::<n> on a local test chain).")
@click.argument("request_id", type=click.IntRange(1))
@json_option
def cancel(account, request_id, as_json):
    """Take back the escrow of energy request REQUEST_ID (yours) that its node did not fill in time.

    Possible once its deadline has passed, or at once if its node was suspended.
    """
    storage = load_system().storage
    if request_id > (count := storage.request_count()):
        raise click.ClickException(f"no energy request {request_id} (there are {count})")
    r = storage.requests(request_id)
    if r.status != 1:
        raise click.ClickException(f"energy request {request_id} is {market.REQUEST_STATUS.get(r.status, r.status)}, "
                                   "not open")
    if r.buyer != account.address:
        raise click.ClickException(f"energy request {request_id} belongs to {r.buyer}")
    if chain.pending_timestamp <= r.deadline and storage.nodes(r.node).active:
        raise click.ClickException(f"node {r.node} may still fill request {request_id} until {when(r.deadline)}")
    tx = transact(storage.cancel_request, request_id, sender=account)
    emit(as_json, {"request_id": request_id, "node": r.node, "refunded_mwh": r.amount_mwh,
                   "status": market.REQUEST_STATUS[storage.requests(request_id).status], "tx": tx_hash(tx)},
         f"energy request {request_id} cancelled: {r.amount_mwh} mWh of ENERGY refunded")
