"""The demo's energy-market chapter: surplus into storage nodes, payment by ballot, the pool,
a buyer taking energy out, and the parity of nodes and ENERGY at the end."""

import click

from greenminer import meter, secp256k1
from offchain import market
from offchain.governance import call
from testbed import simulator
from testbed.localchain import advance, now

METER_SEED = "demo-meters"  # node meter keys: simulator.device_key(METER_SEED, j)
# Two battery sites near the miners: capacity [mWh], lat/lon [µdeg]
NODES = [(5_000_000, 39_744_100, -105_176_300), (2_000_000, 39_739_600, -105_183_900)]
SURPLUS_BPS = 4_000  # share of each day's measured energy a miner sells into a node
# Transmission loss [bps] of each miner's delivery on day 1 and day 2; miner 3's second
# delivery loses 12 %, which the DAO will not pay until the line is checked.
LOSS_BPS = [(250, 310), (420, 380), (290, 1_200), (500, 450)]
LOSS_LIMIT_BPS = 1_000
DAY = 86_400


def _sign(priv, chain, storage, *statement):
    return bytes.fromhex(meter.sign_statement(priv, chain.chain_id, storage.address, *statement)["signature"][2:])


def deliver_surplus(chain, system, miners, sellers, start, days, fleet_seed):
    """Each seller (an applicant's index) sells a share of its measured energy per day twice:
    into node 1 and into node 2, for the first two measured days (the first, twice, after one)."""
    storage, sbt, registry = system.storage, system.sbt, system.registry
    click.echo(f"== {len(sellers)} honest miners each sell {SURPLUS_BPS / 100:.0f} % of a day's generation into "
               "each storage node")
    deliveries = {}  # token -> [(key, loss_bps)]
    for i, loss_pair in zip(sellers, LOSS_BPS):
        device_priv = simulator.device_key(fleet_seed, i)
        device = "0x" + secp256k1.address(secp256k1.public_key(device_priv)).hex()
        token = sbt.token_of_device(device)
        day_energy = registry.device_state(device)[0] // days  # a measured day's energy [mWh]
        for k, loss_bps in enumerate(loss_pair):
            node, day = k + 1, min(k, days - 1)
            delivery_id = 100 * node + token
            period = (start + day * DAY, start + (day + 1) * DAY)
            sent = day_energy * SURPLUS_BPS // 10_000
            received = sent - sent * loss_bps // 10_000
            meter_priv = simulator.device_key(METER_SEED, node - 1)
            tx = storage.record_delivery(
                node, delivery_id, device, *period,
                sent, _sign(device_priv, chain, storage, node, delivery_id, device, *period, sent, meter.SENT),
                received, _sign(meter_priv, chain, storage, node, delivery_id, device, *period, received,
                                meter.RECEIVED),
                sender=miners[i],
            )
            d = tx.decode_logs(storage.Delivered)[0]
            deliveries.setdefault(token, []).append((d.key, loss_bps))
            click.echo(f"  token {token} -> node {node}, delivery {delivery_id}: sent {sent / 1000:.1f} Wh, "
                       f"received {received / 1000:.1f} Wh, loss {d.loss_mwh / 1000:.1f} Wh ({loss_bps / 100:.1f} %)")
    return deliveries


def review_line(desk, request_id):
    r = desk.review(request_id)
    deliveries = f"{r.deliveries} deliver{'y' if r.deliveries == 1 else 'ies'}"
    return (f"  request {request_id} (token {r.token_id}): {deliveries}, sent {r.sent_mwh / 1000:.1f} Wh, "
            f"received {r.received_mwh / 1000:.1f} Wh, loss {r.loss_bps / 100:.1f} %; online {r.online_hours} h, "
            f"hardware {market.HARDWARE_STATUS.get(r.hardware_status, r.hardware_status)}; would mint "
            f"{r.energy_to_mint / 1e6:.4f} ENERGY + {r.deca_to_mint / 1e18:.4f} DECA "
            f"at {market.deca_per_kwh(r.price):.3f} DECA/kWh")


def pay_for_energy(chain, system, members, miners, deliveries, ballot):
    """Miners request payment; the DAO reviews, approves three, rejects one; the corrected one passes."""
    desk, dao, sbt = system.desk, system.dao, system.sbt
    click.echo("== miners request payment for the month; the DAO reviews each request in one view")
    end = now(chain)
    requests = {}
    for token, rows in deliveries.items():
        owner = sbt.ownerOf(token)
        wallet = next(m for m in miners if m.address == owner)
        tx = desk.request_payment(token, end - 30 * DAY, end, [k for k, _ in rows], sender=wallet)
        requests[token] = (tx.decode_logs(desk.PaymentRequested)[0].request_id, wallet)
        click.echo(review_line(desk, requests[token][0]))
    calls, rejected = [], None
    for token, (request_id, _) in requests.items():
        lossy = [k for k, loss in deliveries[token] if loss > LOSS_LIMIT_BPS]
        if lossy:
            reason = (f"delivery {lossy[0] & (2**64 - 1)} lost more than {LOSS_LIMIT_BPS / 100:.0f} %: "
                      "leave it out until the line is checked")
            calls.append(call(desk.reject, request_id, reason))
            rejected = (token, lossy)
        else:  # at the price the review suggests (the DAO's reference while the pool is empty)
            calls.append(call(desk.approve, request_id, desk.review(request_id).price))
    ballot(dao, members, calls, "pay for the month's energy (one request rejected)")
    for token, (request_id, _) in requests.items():
        r = desk.requests(request_id)
        line = f"  request {request_id}: {market.PAYMENT_STATUS[r.status]}"
        if r.status == 3:
            line += f" — {r.reason}"
        else:
            line += f", {r.shares:,} LP shares to token {token}'s owner"
        click.echo(line)
    if rejected:
        token, lossy = rejected
        wallet = requests[token][1]
        keep = [k for k, _ in deliveries[token] if k not in lossy]
        tx = desk.request_payment(token, end - 30 * DAY, end, keep, sender=wallet)
        request_id = tx.decode_logs(desk.PaymentRequested)[0].request_id
        click.echo(f"  token {token} files a corrected request {request_id} without the lossy delivery")
        click.echo(review_line(desk, request_id))
        ballot(dao, members, [call(desk.approve, request_id, desk.review(request_id).price)],
               f"pay corrected request {request_id}")
        click.echo(f"  request {request_id}: {market.PAYMENT_STATUS[desk.requests(request_id).status]}, "
                   f"{desk.requests(request_id).shares:,} LP shares")


def trade_and_take_out(chain, system, members, seller, buyer, ballot, snapshots):
    """A buyer gets DECA from the vault, swaps for ENERGY, takes energy out of node 1; a miner cashes out."""
    deca, energy, pool, storage, dao = system.deca, system.energy, system.pool, system.storage, system.dao
    click.echo("== a neighbour buys stored energy; swaps move the price")
    grant = pool.reserves()[0] // 5  # a fifth of the pool's DECA: a big order for this small pool
    ballot(dao, members, [call(deca.transfer, buyer.address, grant)],
           f"grant {grant / 1e18:.4f} DECA to a pilot energy buyer")
    show_pool(pool, "  before the swaps", snapshots)
    deadline = now(chain) + 600
    quoted = pool.get_amount_out(deca, grant)
    deca.approve(pool, grant, sender=buyer)
    pool.swap_exact_in(deca, grant, quoted * 995 // 1000, buyer, deadline, sender=buyer)
    bought = energy.balanceOf(buyer)
    click.echo(f"  the buyer swaps {grant / 1e18:.4f} DECA for {bought / 1e6:.4f} ENERGY ({bought / 1000:.1f} Wh; "
               f"quote was "
               f"{quoted / 1000:.1f} Wh)")
    show_pool(pool, "  after the buyer's swap", snapshots)
    energy.approve(storage, bought, sender=buyer)
    tx = storage.request_energy(1, bought, now(chain) + 6 * 3_600, sender=buyer)
    request_id = tx.decode_logs(storage.EnergyRequested)[0].request_id
    advance(chain, 2 * 3_600)
    r = storage.requests(request_id)
    delivered = bought * 97 // 100  # the meter stops 3 % short: the rest is refunded
    period = (r.created, now(chain) - 1)
    meter_priv = simulator.device_key(METER_SEED, 0)
    sig = _sign(meter_priv, chain, storage, 1, request_id, r.buyer, *period, delivered, meter.DELIVERED_OUT)
    supply = energy.totalSupply()
    tx = storage.fill(request_id, delivered, *period, sig, sender=buyer)
    f = tx.decode_logs(storage.EnergyFilled)[0]
    click.echo(f"  node 1 delivers {f.delivered_mwh / 1000:.1f} Wh out of request {request_id}: burned "
               f"{(supply - energy.totalSupply()) / 1000:.1f} Wh of ENERGY, refunded {f.refunded_mwh / 1000:.1f} Wh")

    miner = seller
    shares = pool.balanceOf(miner)
    out_deca, out_energy = pool.quote_remove(shares // 2)
    pool.remove_liquidity(shares // 2, out_deca * 99 // 100, out_energy * 99 // 100, miner,
                          now(chain) + 600, sender=miner)
    click.echo(f"  miner {miner.address[:10]} withdraws half its {shares:,} LP shares: {out_deca / 1e18:.4f} DECA and "
               f"{out_energy / 1000:.1f} Wh of ENERGY")
    held = energy.balanceOf(miner)
    quoted = pool.get_amount_out(energy, held)
    energy.approve(pool, held, sender=miner)
    pool.swap_exact_in(energy, held, quoted * 995 // 1000, miner, now(chain) + 600, sender=miner)
    click.echo(f"  and swaps its {held / 1000:.1f} Wh of ENERGY for {quoted / 1e18:.4f} DECA")
    show_pool(pool, "  after the miner's swap", snapshots)


def show_pool(pool, label, snapshots):
    """Print the pool's state and keep it in ``snapshots`` (for the report's plot)."""
    rd, re, _ = pool.reserves()
    snapshots.append({"step": label.strip(), "deca_wei": rd, "energy_mwh": re,
                      "price": market.deca_per_kwh(pool.spot_price())})
    click.echo(f"{label}: reserves {rd / 1e18:.4f} DECA / {re / 1e6:.4f} ENERGY, "
               f"price {market.deca_per_kwh(pool.spot_price()):.4f} DECA/kWh, LP supply {pool.totalSupply():,} shares")


def show_parity(system):
    parity = market.get_parity(system.storage, system.energy)
    click.echo("== parity of the storage nodes and ENERGY")
    for n in parity.nodes:
        click.echo(f"  node {n.node}: stored {n.stored_mwh / 1000:9.1f} Wh = "
                   f"tokenized {n.tokenized_mwh / 1000:9.1f} Wh "
                   f"+ unpaid credit {n.unpaid_mwh / 1000:7.1f} Wh (capacity {n.capacity_mwh / 1000:.0f} Wh)")
    click.echo(f"  Σ tokenized {parity.tokenized_mwh} mWh, ENERGY supply {parity.supply_mwh} base units: "
               f"{'parity holds' if parity.holds else 'PARITY BROKEN'}")
    return parity.holds


def run_market(chain, system, members, miners, sellers, start, days, fleet_seed, buyer, ballot, snapshots):
    """The chapter; ``sellers`` are applicants' indices (wallet ``miners[i]``, device key ``i``),
    ``ballot(dao, members, calls, description)`` runs and prints one proposal, ``snapshots``
    receives the pool's state after each step. Returns whether parity holds at the end."""
    storage = system.storage
    click.echo("== the DAO registers two storage nodes")
    calls = []
    for j, (capacity, lat, lon) in enumerate(NODES):
        meter_address = "0x" + secp256k1.address(secp256k1.public_key(simulator.device_key(METER_SEED, j))).hex()
        calls.append(call(storage.register_node, meter_address, capacity, lat, lon))
    ballot(system.dao, members, calls, "register storage nodes 1 and 2")
    for n in market.get_nodes(storage):
        click.echo(f"  node {n.node}: meter {n.meter[:10]}, {n.capacity_mwh / 1e6:.0f} kWh at "
                   f"{n.lat_udeg / 1e6:.4f}, {n.lon_udeg / 1e6:.4f}")
    deliveries = deliver_surplus(chain, system, miners, sellers, start, days, fleet_seed)
    pay_for_energy(chain, system, members, miners, deliveries, ballot)
    show_pool(system.pool, "  after the payments", snapshots)
    trade_and_take_out(chain, system, members, miners[sellers[0]], buyer, ballot, snapshots)
    return show_parity(system)
