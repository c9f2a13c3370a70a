"""The energy market at a glance, and an ENERGY holder's commands.

    ape run market show                       # pool reserves, prices, parity of nodes and ENERGY
    ape run market review 3                   # what the DAO checks before it votes on payment request 3
    ape run market buy --account ALIAS --node 1 --amount-mwh 250000 [--hours 24]
    ape run market cancel 7 --account ALIAS
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand, account_option

from offchain import market

from ._system import load_system, transact, when


@click.group()
def cli():
    """Energy market: the DECA/ENERGY pool, payments, energy out of the nodes."""


@cli.command(cls=ConnectedProviderCommand)
def show():
    """Reserves, spot and payment price, and the parity of nodes and ENERGY (exits 1 if broken)."""
    system = load_system()
    pool, desk = system.pool, system.desk
    rd, re, ts = pool.reserves()
    click.echo(f"pool: {rd / 1e18:.6f} DECA / {re} mWh of ENERGY, LP supply {pool.totalSupply()}, "
               f"fee {pool.fee_bps()} bps (vault share {pool.vault_share_bps()} bps), last update "
               f"{when(ts) if ts else 'never'}")
    last = desk.last_price()
    click.echo(f"price: spot {market.deca_per_kwh(pool.spot_price()):.6f} DECA/kWh; payments at the price the DAO "
               f"votes, refused beyond ±{desk.price_band_bps() / 100:g} % of the spot; last paid "
               + (f"{market.deca_per_kwh(last):.6f} DECA/kWh" if last else "none yet, reference "
                  f"{market.deca_per_kwh(desk.reference_price()):.6f} DECA/kWh"))
    parity = market.get_parity(system.storage, system.energy)
    for n in parity.nodes:
        click.echo(f"node {n.node}: stored {n.stored_mwh} mWh = tokenized {n.tokenized_mwh} + unpaid {n.unpaid_mwh}")
    click.echo(f"parity: Σ tokenized {parity.tokenized_mwh} mWh, ENERGY supply {parity.supply_mwh}: "
               f"{'holds' if parity.holds else 'BROKEN'}")
    if not parity.holds:
        raise SystemExit(1)


@cli.command(cls=ConnectedProviderCommand)
@click.argument("request_id", type=click.IntRange(1))
def review(request_id):
    """A payment request as the DAO sees it: measurements, online record, hardware, what it would mint."""
    system = load_system()
    desk, storage = system.desk, system.storage
    if request_id > desk.request_count():
        raise click.ClickException(f"no payment request {request_id} (there are {desk.request_count()})")
    r = desk.review(request_id)
    click.echo(f"payment request {request_id}: token {r.token_id} of {r.miner}, {market.PAYMENT_STATUS[r.status]}"
               + (f" ({r.reason})" if r.reason else ""))
    click.echo(f"  period {when(r.period_start)} .. {when(r.period_end)}, {r.deliveries} deliveries:")
    for key in desk.deliveries_of(request_id):
        d = storage.delivery(key)
        click.echo(f"    node {d.node} delivery {d.delivery_id}: {when(d.period_start)} .. {when(d.period_end)}, "
                   f"sent {d.sent_mwh}, received {d.received_mwh}, loss {d.loss_mwh} mWh")
    click.echo(f"  total: sent {r.sent_mwh} mWh, received {r.received_mwh} mWh, loss {r.loss_mwh} mWh "
               f"({r.loss_bps / 100:.2f} %)")
    click.echo(f"  miner: hardware {'active' if r.hardware_status == 1 else 'NOT ACTIVE'}, online {r.online_hours} h, "
               f"{r.hashes} hashes, last reading {when(r.last_seen) if r.last_seen else 'never'}")
    click.echo(f"  prices [DECA/kWh]: time-weighted since filing {_kwh(r.twap_price)}, spot {_kwh(r.spot_price)}, "
               f"last paid {_kwh(r.last_price)}; suggested {market.deca_per_kwh(r.price):.6f}")
    click.echo(f"  approval at the suggested price would mint {r.energy_to_mint} mWh of ENERGY and offer "
               f"{r.deca_to_mint / 1e18:.6f} DECA to the pool, up to {r.dao_deca / 1e18:.6f} DECA to the vault")
    if r.status == 1:
        click.echo(f"  to vote it: --call \"desk.approve({request_id}, {r.price})\" (refused if the spot is then "
                   f"more than {desk.price_band_bps() / 100:g} % off)")


def _kwh(price):
    """A price for display, or "none" (0: no such price yet)."""
    return f"{market.deca_per_kwh(price):.6f}" if price else "none"


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--node", type=click.IntRange(1), required=True)
@click.option("--amount-mwh", type=click.IntRange(1), required=True, help="Energy wanted [mWh] = ENERGY escrowed.")
@click.option("--hours", type=click.IntRange(1, 720), default=24, show_default=True, help="Time the node has to fill.")
def buy(account, node, amount_mwh, hours):
    """Escrow ENERGY with a request for energy out of a node."""
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
    if energy.balanceOf(account) < amount_mwh:
        raise click.ClickException(f"{account.address} holds {energy.balanceOf(account)} mWh of ENERGY")
    if energy.allowance(account, storage) < amount_mwh:
        transact(energy.approve, storage, amount_mwh, sender=account)
    deadline = chain.blocks.head.timestamp + hours * 3_600
    tx = transact(storage.request_energy, node, amount_mwh, deadline, sender=account)
    e = tx.decode_logs(storage.EnergyRequested)[0]
    click.echo(f"energy request {e.request_id} at node {node}: {amount_mwh} mWh escrowed until {when(e.deadline)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("request_id", type=click.IntRange(1))
def cancel(account, request_id):
    """Take back the escrow of a request the node did not fill in time."""
    storage = load_system().storage
    r = storage.requests(request_id)
    if r.status != 1:
        raise click.ClickException(f"energy request {request_id} is not open")
    if r.buyer != account.address:
        raise click.ClickException(f"energy request {request_id} belongs to {r.buyer}")
    if chain.blocks.head.timestamp <= r.deadline and storage.nodes(r.node).active:
        raise click.ClickException(f"node {r.node} may still fill request {request_id} until {when(r.deadline)}")
    transact(storage.cancel_request, request_id, sender=account)
    click.echo(f"energy request {request_id} cancelled: {r.amount_mwh} mWh of ENERGY refunded")
