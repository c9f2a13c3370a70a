"""The miner's commands: identity, readings, and selling energy into storage nodes.

    ape run miner apply --account ALIAS --enrollment enrollment.json --capacity-w 4200 --lat 39.742 --lon -105.178 \
        --tilt 30 --azimuth 180
    ape run miner status --account ALIAS
    ape run miner readings --account ALIAS [--last 24] [--all]
    ape run miner sell --account ALIAS --sent sent.json --received received.json
    ape run miner request-payment --account ALIAS [--days 30]
    ape run miner withdraw --account ALIAS --shares all [--slippage-bps 50]
    ape run miner swap --account ALIAS --sell energy --amount 1500000 [--slippage-bps 50]
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand, account_option

from offchain import market
from offchain.protocol import enroll, meter
from offchain.protocol.batch import unpack_reading

from ._system import events, load_system, record_block, transact, when

APPLICATION_STATUS = {1: "pending", 2: "approved", 3: "rejected"}
HARDWARE_STATUS = {1: "active", 2: "suspended", 3: "revoked"}


def _udeg(degrees, limit, name):
    if not -limit <= degrees <= limit:
        raise click.BadParameter(f"{degrees} is outside ±{limit}°", param_hint=name)
    return round(degrees * 1_000_000)


@click.group()
def cli():
    """Miner: identity on chain."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--enrollment", "enrollment_path", required=True, type=click.Path(dir_okay=False),
              help="The device's signed enrollment naming this account (enrollment.json on its flash).")
@click.option("--capacity-w", type=click.IntRange(1, 1_000_000), required=True, help="Peak capacity [W].")
@click.option("--lat", type=float, required=True, help="Latitude [degrees].")
@click.option("--lon", type=float, required=True, help="Longitude [degrees].")
@click.option("--tilt", type=click.IntRange(0, 90), required=True, help="Panel tilt from horizontal [degrees].")
@click.option("--azimuth", type=click.IntRange(0, 359), required=True,
              help="Direction the panels face [degrees clockwise from north: 180 is south].")
@click.option("--uri", default="", help="Metadata URI (panel, inverter, photos).")
def apply(account, enrollment_path, capacity_w, lat, lon, tilt, azimuth, uri):
    """Apply for a miner token with the device's signed enrollment (good for a day)."""
    sbt = load_system().sbt
    try:
        e = enroll.read_enrollment(enrollment_path, chain_id=chain.chain_id, sbt=sbt.address)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if e.applicant != account.address:
        raise click.ClickException(f"the enrollment names {e.applicant}, not {account.address}: "
                                   "set the device's APPLICANT to this account")
    if token := sbt.token_of_device(e.device):
        raise click.ClickException(f"device {e.device} already has token {token}")
    if pending := sbt.pending_application(e.device):
        raise click.ClickException(f"device {e.device} already has pending application {pending}")
    args = e.apply_args(capacity_w, _udeg(lat, 90, "--lat"), _udeg(lon, 180, "--lon"), tilt, azimuth, uri)
    tx = transact(sbt.apply, *args, sender=account)
    app_id = tx.decode_logs(sbt.Applied)[0].application_id
    click.echo(f"application {app_id} for device {e.device} (from {e.start_total_mwh / 1000:.3f} Wh at "
               f"{when(e.start_time)}): pending the DAO's vote")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
def status(account):
    """Your applications and tokens."""
    sbt = load_system().sbt
    applied = events(sbt.Applied, applicant=account.address)
    if not applied:
        click.echo(f"{account.address}: no applications")
    for log in applied:
        app = sbt.applications(log.application_id)
        line = f"application {log.application_id}: device {app.device} {APPLICATION_STATUS[app.status]}"
        if app.status == 3:
            line += f" ({app.reason})"
        click.echo(line)
        if app.status == 2:
            m = sbt.miners(app.token_id)
            click.echo(
                f"  token {app.token_id}: {HARDWARE_STATUS[m.status]}, {m.capacity_w} W at "
                f"{m.lat_udeg / 1e6:.6f}, {m.lon_udeg / 1e6:.6f}; online {m.online_hours} h, {m.hashes} hashes"
            )


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--last", type=click.IntRange(1), default=24, show_default=True, help="Epochs (hours) to show.")
@click.option("--all", "show_all", is_flag=True, help="Every reading, not one line per batch.")
def readings(account, last, show_all):
    """Your devices' batches as anchored on chain (the registry's events)."""
    system = load_system()
    sbt, registry = system.sbt, system.registry
    tokens = [sbt.tokenOfOwnerByIndex(account, i) for i in range(sbt.balanceOf(account))]
    if not tokens:
        raise click.ClickException(f"{account.address} holds no miner token")
    for token in tokens:
        device = sbt.device_of(token)
        logs = events(registry.BatchAccepted, device=device)[-last:]
        click.echo(f"token {token}, device {device}: {len(logs)} batches shown")
        for log in logs:
            rows = [unpack_reading(r) for r in log.readings]
            first, last_ = rows[0], rows[-1]
            click.echo(
                f"  epoch {log.epoch:6} seq {log.seq:5}: {len(rows):2} readings, "
                f"{when(first[0])} .. {when(last_[0])}, total {last_[2] / 1000:.3f} Wh, "
                f"peak {max(p for _, p, _ in rows) / 1000:.2f} W"
            )
            if show_all:
                for ts, power_mw, total_mwh in rows:
                    click.echo(f"      {when(ts)}  {power_mw:10} mW  {total_mwh:12} mWh")


def _token_of(sbt, account):
    tokens = [sbt.tokenOfOwnerByIndex(account, i) for i in range(sbt.balanceOf(account))]
    if not tokens:
        raise click.ClickException(f"{account.address} holds no miner token")
    return tokens[0]


def _statement(path, kind):
    try:
        return meter.read_statement(path, kind)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


slippage_option = click.option("--slippage-bps", type=click.IntRange(0, 10_000), default=50, show_default=True,
                               help="Least acceptable outcome below the quote [bps].")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--sent", "sent_path", required=True, type=click.Path(dir_okay=False),
              help="Your device's signed 'sent' statement (JSON).")
@click.option("--received", "received_path", required=True, type=click.Path(dir_okay=False),
              help="The node meter's signed 'received' statement (JSON): same delivery id and period, "
                   "naming your device.")
def sell(account, sent_path, received_path):
    """Record a delivery of energy into a storage node; it is credited to you, pending payment."""
    storage = load_system().storage
    sent, received = _statement(sent_path, meter.SENT), _statement(received_path, meter.RECEIVED)
    same = ("node", "id", "period_start", "period_end")
    if any(getattr(sent, f) != getattr(received, f) for f in same):
        raise click.ClickException("the two statements are not for the same node, delivery id and period")
    if sent.party != received.party:
        raise click.ClickException(f"{received_path} names device {received.party}, {sent_path} device {sent.party}")
    if received.energy_mwh > sent.energy_mwh:
        raise click.ClickException(f"received {received.energy_mwh} mWh exceeds sent {sent.energy_mwh} mWh")
    tx = transact(storage.record_delivery, sent.node, sent.id, sent.party, sent.period_start, sent.period_end,
                  sent.energy_mwh, sent.signature, received.energy_mwh, received.signature, sender=account)
    d = tx.decode_logs(storage.Delivered)[0]
    click.echo(f"delivery {d.delivery_id} into node {d.node} credited to token {d.token_id}: sent {d.sent_mwh} mWh, "
               f"received {d.received_mwh} mWh, loss {d.loss_mwh} mWh")


@cli.command(name="request-payment", cls=ConnectedProviderCommand)
@account_option()
@click.option("--days", type=click.IntRange(1, 92), default=30, show_default=True,
              help="The period: this many days up to now.")
@click.option("--exclude", "excluded", multiple=True, type=int, help="Leave out this delivery key (repeat).")
def request_payment(account, days, excluded):
    """Ask the DAO to pay for your credited deliveries of the period."""
    system = load_system()
    storage, desk = system.storage, system.desk
    token = _token_of(system.sbt, account)
    end = chain.blocks.head.timestamp
    start = end - days * 86_400
    keys = [k for k in market.get_credited_deliveries(storage, token, record_block(), start, end)
            if k not in excluded]
    if not keys:
        raise click.ClickException(f"token {token} has no credited deliveries in the last {days} days")
    keys = keys[:32]
    tx = transact(desk.request_payment, token, start, end, keys, sender=account)
    e = tx.decode_logs(desk.PaymentRequested)[0]
    click.echo(f"payment request {e.request_id}: {e.deliveries} deliveries, received {e.received_mwh} mWh "
               f"(sent {e.sent_mwh}); the DAO votes on `desk.approve({e.request_id}, price)` "
               f"(`ape run market review {e.request_id}` suggests the price)")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--shares", required=True, help="LP shares to redeem (wei of the LP token), or 'all'.")
@slippage_option
def withdraw(account, shares, slippage_bps):
    """Remove your liquidity: take DECA and ENERGY out of the pool."""
    pool = load_system().pool
    held = pool.balanceOf(account)
    amount = held if shares == "all" else int(shares) if shares.isdigit() else None
    if amount is None:
        raise click.BadParameter(f"{shares!r}: expected an integer or 'all'", param_hint="--shares")
    if not 0 < amount <= held:
        raise click.ClickException(f"{account.address} holds {held} LP shares; cannot redeem {amount}")
    deca, energy = pool.quote_remove(amount)
    keep = 10_000 - slippage_bps
    transact(pool.remove_liquidity, amount, deca * keep // 10_000, energy * keep // 10_000, account,
             chain.blocks.head.timestamp + 600, sender=account)
    click.echo(f"redeemed {amount} LP shares for {deca / 1e18:.6f} DECA and {energy} mWh of ENERGY")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--sell", "side", type=click.Choice(["deca", "energy"]), required=True, help="The token you pay.")
@click.option("--amount", type=click.IntRange(1), required=True, help="Base units to sell (DECA wei or mWh).")
@slippage_option
def swap(account, side, amount, slippage_bps):
    """Swap an exact amount of DECA for ENERGY or the reverse."""
    system = load_system()
    pool, token_in = system.pool, getattr(system, side)
    if token_in.balanceOf(account) < amount:
        raise click.ClickException(f"{account.address} holds {token_in.balanceOf(account)} {side} base units, "
                                   f"less than {amount}")
    quoted = pool.get_amount_out(token_in, amount)
    if quoted == 0:
        raise click.ClickException("the pool has no liquidity for this swap")
    if token_in.allowance(account, pool) < amount:
        transact(token_in.approve, pool, amount, sender=account)
    transact(pool.swap_exact_in, token_in, amount, quoted * (10_000 - slippage_bps) // 10_000, account,
             chain.blocks.head.timestamp + 600, sender=account)
    other = "energy" if side == "deca" else "deca"
    click.echo(f"sold {amount} {side} base units for {quoted} {other} base units; "
               f"price now {market.deca_per_kwh(pool.spot_price()):.6f} DECA/kWh")
