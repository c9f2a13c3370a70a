"""The miner's commands: identity, readings, claiming DECA, and selling energy into storage nodes.

    ape run miner apply --account ALIAS --enrollment enrollment.json --capacity-w 4200 --lat 39.742 --lon -105.178 \
        --tilt 30 --azimuth 180 [--uri ipfs://...]
    ape run miner status --account ALIAS
    ape run miner readings --account ALIAS [--token 1] [--last 24] [--all]
    ape run miner claim --account ALIAS [--token 1]
    ape run miner sell --account ALIAS --sent sent.json --received received.json
    ape run miner request-payment --account ALIAS [--token 1] [--days 30] [--exclude KEY ...]
    ape run miner withdraw --account ALIAS --shares all [--slippage-bps 50]
    ape run miner swap --account ALIAS --sell energy --amount 1500000 [--slippage-bps 50]

Every command takes --json (one JSON object: amounts in base units, mWh, DECA wei or LP
shares; the transaction hash when one was sent). Every input is checked against the
chain before anything is sent: a refusal is one line and costs nothing.
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from offchain import market, oracle
from offchain.protocol import enroll, meter
from offchain.protocol.batch import recover_signer, unpack_reading

from ._system import account_option, emit, events, json_option, load_system, record_block, table, to_0x, transact, tx_hash, when

APPLICATION_STATUS = {1: "pending", 2: "approved", 3: "rejected"}
MAX_URI = 256  # MinerSBT's bound on the metadata URI [characters]
MAX_KEYS = 32  # PaymentDesk: deliveries per payment request
MIN_PAYMENT_MWH = 1_000  # PaymentDesk pays 1 Wh or more
DAY = 86_400


def _udeg(degrees, limit, name):
    if not -limit <= degrees <= limit:
        raise click.BadParameter(f"{degrees} is outside ±{limit}°", param_hint=name)
    return round(degrees * 1_000_000)


def _tokens(sbt, account):
    return [sbt.tokenOfOwnerByIndex(account, i) for i in range(sbt.balanceOf(account))]


def _token_of(sbt, account, token=None):
    """The account's token: ``token`` if it is the account's, else its first; one line if none."""
    if token is None:
        tokens = _tokens(sbt, account)
        if not tokens:
            raise click.ClickException(f"{account.address} holds no miner token")
        return tokens[0]
    if sbt.miners(token).status == 0:
        raise click.ClickException(f"there is no miner token {token}")
    if (owner := sbt.ownerOf(token)) != account.address:
        raise click.ClickException(f"token {token} belongs to {owner}, not to {account.address}")
    return token


def _statement(path, kind):
    try:
        return meter.read_statement(path, kind)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


token_option = click.option("--token", type=click.IntRange(1, 2**64 - 1), default=None,
                            help="Your miner token (default: the first you hold).")
slippage_option = click.option("--slippage-bps", type=click.IntRange(0, 10_000), default=50, show_default=True,
                               help="Least acceptable outcome below the quote [bps].")


@click.group()
def cli():
    """Miner: apply for a token with your device, see your readings, sell surplus energy into storage
    nodes, get paid in the pool's LP shares, and trade."""


# ------------------------------------------------------------------------------------- identity


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--enrollment", "enrollment_path", required=True, type=click.Path(dir_okay=False),
              help="The device's signed enrollment naming this account (enrollment.json on its flash).")
@click.option("--capacity-w", type=click.IntRange(1, 1_000_000), required=True, help="Peak capacity [W].")
@click.option("--lat", type=float, required=True, help="Latitude [degrees, north positive].")
@click.option("--lon", type=float, required=True, help="Longitude [degrees, east positive].")
@click.option("--tilt", type=click.IntRange(0, 90), required=True, help="Panel tilt from horizontal [degrees].")
@click.option("--azimuth", type=click.IntRange(0, 359), required=True,
              help="Direction the panels face [degrees clockwise from north: 180 is south].")
@click.option("--uri", default="", help=f"Metadata URI (panel, inverter, photos); at most {MAX_URI} characters.")
@json_option
def apply(account, enrollment_path, capacity_w, lat, lon, tilt, azimuth, uri, as_json):
    """Apply for a miner token with the device's signed enrollment (good for a day after its time).

    The DAO votes on the application; `status` shows the outcome and the token.
    """
    sbt = load_system().sbt
    lat_udeg, lon_udeg = _udeg(lat, 90, "--lat"), _udeg(lon, 180, "--lon")
    if len(uri) > MAX_URI:
        raise click.BadParameter(f"{len(uri)} characters; at most {MAX_URI}", param_hint="--uri")
    try:
        e = enroll.read_enrollment(enrollment_path, chain_id=chain.chain_id, sbt=sbt.address)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if e.applicant != account.address:
        raise click.ClickException(f"the enrollment names {e.applicant}, not {account.address}: "
                                   "set the device's APPLICANT to this account")
    if token := sbt.token_of_device(e.device):
        if sbt.miners(token).status == 3:
            raise click.ClickException(f"device {e.device} was revoked (token {token}); it cannot apply again")
        raise click.ClickException(f"device {e.device} already has token {token}")
    if pending := sbt.pending_application(e.device):
        raise click.ClickException(f"device {e.device} already has pending application {pending}")
    now = chain.pending_timestamp
    if e.start_time > now:
        raise click.ClickException(f"the enrollment is dated {when(e.start_time)}, after the chain's time "
                                   f"{when(now)}: check the device's clock")
    if now - e.start_time > enroll.ENROLLMENT_TTL:
        raise click.ClickException(f"the enrollment of {when(e.start_time)} expired at "
                                   f"{when(e.start_time + enroll.ENROLLMENT_TTL)}: have the device sign a new one")
    args = e.apply_args(capacity_w, lat_udeg, lon_udeg, tilt, azimuth, uri)
    tx = transact(sbt.apply, *args, sender=account)
    app_id = tx.decode_logs(sbt.Applied)[0].application_id
    emit(as_json, {
        "application_id": app_id, "status": "pending", "applicant": account.address, "device": e.device,
        "capacity_w": capacity_w, "lat_udeg": lat_udeg, "lon_udeg": lon_udeg, "tilt_deg": tilt,
        "azimuth_deg": azimuth, "uri": uri, "start_total_mwh": e.start_total_mwh, "start_time": e.start_time,
        "tx_hash": tx_hash(tx),
    }, f"application {app_id} for device {e.device} (from {e.start_total_mwh / 1000:.3f} Wh at "
       f"{when(e.start_time)}): pending the DAO's vote")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@json_option
def status(account, as_json):
    """Your applications, tokens (with unpaid credit), payment requests and balances."""
    system = load_system()
    sbt, desk = system.sbt, system.desk
    applications = []
    for log in events(sbt.Applied, applicant=account.address):
        app = sbt.applications(log.application_id)
        applications.append({"application_id": log.application_id, "device": app.device,
                             "status": APPLICATION_STATUS[app.status], "token_id": app.token_id or None,
                             "reason": app.reason})
    tokens = []
    for token in _tokens(sbt, account):
        m = sbt.miners(token)
        tokens.append({"token_id": token, "device": m.device, "status": market.HARDWARE_STATUS[m.status],
                       "capacity_w": m.capacity_w, "lat_udeg": m.lat_udeg, "lon_udeg": m.lon_udeg,
                       "online_hours": m.online_hours, "hashes": m.hashes,
                       "credit_mwh": system.storage.credit_of(token)})
    payments = []
    for log in events(desk.PaymentRequested, miner=account.address):
        r = desk.requests(log.request_id)
        payments.append({"request_id": log.request_id, "token_id": r.token_id,
                         "status": market.PAYMENT_STATUS[r.status], "deliveries": log.deliveries,
                         "received_mwh": r.received_mwh, "shares": r.shares, "reason": r.reason})
    balances = {"deca_wei": system.deca.balanceOf(account), "energy_mwh": system.energy.balanceOf(account),
                "lp_shares": system.pool.balanceOf(account)}
    data = {"account": account.address, "applications": applications, "tokens": tokens,
            "payment_requests": payments, "balances": balances}
    lines = []
    if not applications:
        lines.append(f"{account.address}: no applications")
    else:
        rows = [dict(a, token_id=a["token_id"] or "-", note=a["reason"] or "") for a in applications]
        lines += table(rows, [("application_id", "application"), ("device", "device"), ("status", "status"),
                              ("token_id", "token"), ("note", "reason")])
    if tokens:
        rows = [dict(t, location=f"{t['lat_udeg'] / 1e6:.6f}, {t['lon_udeg'] / 1e6:.6f}") for t in tokens]
        lines += [""] + table(rows, [("token_id", "token"), ("status", "status"), ("capacity_w", "capacity W"),
                                     ("location", "location"), ("online_hours", "online h"),
                                     ("hashes", "hashes"), ("credit_mwh", "unpaid mWh")])
    if payments:
        rows = [dict(p, note=p["reason"] or "") for p in payments]
        lines += [""] + table(rows, [("request_id", "payment request"), ("token_id", "token"),
                                     ("status", "status"), ("deliveries", "deliveries"),
                                     ("received_mwh", "mWh"), ("shares", "LP shares"), ("note", "reason")])
    lines += ["", f"balances: {balances['deca_wei'] / 1e18:.6f} DECA, {balances['energy_mwh']} mWh of ENERGY, "
                  f"{balances['lp_shares']} LP shares"]
    emit(as_json, data, lines)


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@token_option
@click.option("--last", type=click.IntRange(1), default=24, show_default=True,
              help="Batches to show per token, the latest (a device anchors one an hour).")
@click.option("--all", "show_all", is_flag=True, help="Every reading of those batches, not one line per batch.")
@json_option
def readings(account, token, last, show_all, as_json):
    """Your devices' batches as anchored on chain (the registry's BatchAccepted events)."""
    system = load_system()
    sbt, registry = system.sbt, system.registry
    tokens = [_token_of(sbt, account, token)] if token else _tokens(sbt, account)
    if not tokens:
        raise click.ClickException(f"{account.address} holds no miner token")
    data, lines = {"account": account.address, "tokens": []}, []
    for token_id in tokens:
        device = sbt.device_of(token_id)
        batches = []
        for log in events(registry.BatchAccepted, device=device)[-last:]:
            rows = [tuple(unpack_reading(r)) for r in log.readings]
            b = {"epoch": log.epoch, "seq": log.seq, "batch_hash": to_0x(log.batch_hash),
                 "tx_hash": to_0x(log.transaction_hash), "count": len(rows), "first_ts": rows[0][0], "last_ts": rows[-1][0],
                 "total_mwh": rows[-1][2], "peak_mw": max(p for _, p, _ in rows)}
            if show_all:
                b["readings"] = [list(r) for r in rows]
            batches.append(b)
        data["tokens"].append({"token_id": token_id, "device": device, "batches": batches})
        lines.append(f"token {token_id}, device {device}: {len(batches)} batches shown")
        if batches and not show_all:
            rows = [dict(b, span=f"{when(b['first_ts'])} .. {when(b['last_ts'])}") for b in batches]
            lines += table(rows, [("epoch", "epoch"), ("seq", "seq"), ("count", "readings"), ("span", "time"),
                                  ("total_mwh", "total mWh"), ("peak_mw", "peak mW")])
        elif batches:
            rows = [{"epoch": b["epoch"], "seq": b["seq"], "time": when(ts), "power_mw": p, "total_mwh": t}
                    for b in batches for ts, p, t in b["readings"]]
            lines += table(rows, [("epoch", "epoch"), ("seq", "seq"), ("time", "time"), ("power_mw", "power mW"),
                                  ("total_mwh", "total mWh")])
    emit(as_json, data, lines)


# ----------------------------------------------------------------------------------- the market


def _check_signer(storage, statement, kind, expected, who, path):
    digest = storage.statement_digest(statement.node, statement.id, statement.party, statement.period_start,
                                      statement.period_end, statement.energy_mwh, kind)
    if recover_signer(bytes(digest), statement.signature) != expected:
        raise click.ClickException(f"{path}: not signed by {who} {expected} (or not for this chain's StorageNode)")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--sent", "sent_path", required=True, type=click.Path(dir_okay=False),
              help="Your device's signed 'sent' statement (JSON).")
@click.option("--received", "received_path", required=True, type=click.Path(dir_okay=False),
              help="The node meter's signed 'received' statement (JSON): same node, delivery id and period, "
                   "naming your device.")
@json_option
def sell(account, sent_path, received_path, as_json):
    """Record a delivery of energy into a storage node; it is credited to your token, pending payment.

    Both statements are checked first: same delivery, signed by your device and by the node's meter, the
    node registered, active and with room, the delivery not yet recorded.
    """
    system = load_system()
    storage, sbt = system.storage, system.sbt
    sent, received = _statement(sent_path, meter.SENT), _statement(received_path, meter.RECEIVED)
    same = ("node", "id", "period_start", "period_end")
    if any(getattr(sent, f) != getattr(received, f) for f in same):
        raise click.ClickException("the two statements are not for the same node, delivery id and period")
    if sent.party != received.party:
        raise click.ClickException(f"{received_path} names device {received.party}, {sent_path} device {sent.party}")
    if received.energy_mwh > sent.energy_mwh:
        raise click.ClickException(f"received {received.energy_mwh} mWh exceeds sent {sent.energy_mwh} mWh")
    if received.energy_mwh == 0:
        raise click.ClickException(f"{received_path} states nothing received")
    if not 1 <= sent.id < 2**64:
        raise click.ClickException(f"delivery id {sent.id} is out of range (1 .. 2**64 - 1)")
    if not 1 <= sent.node <= storage.node_count():
        raise click.ClickException(f"there is no storage node {sent.node} ({storage.node_count()} registered)")
    node = storage.nodes(sent.node)
    if not node.active:
        raise click.ClickException(f"node {sent.node} is suspended: it takes no deliveries")
    key = storage.delivery_key(sent.node, sent.id)
    if storage.delivery(key).status:
        raise click.ClickException(f"delivery {sent.id} into node {sent.node} is already recorded")
    head = chain.blocks.head.timestamp
    if not sent.period_start < sent.period_end:
        raise click.ClickException(f"the period {sent.period_start} .. {sent.period_end} is empty")
    if sent.period_end > head:
        raise click.ClickException(f"the period ends at {when(sent.period_end)}, after the chain's time "
                                   f"{when(head)}: sell once it is over")
    if received.energy_mwh > (free := storage.free_capacity_mwh(sent.node)):
        raise click.ClickException(f"node {sent.node} has room for {free} mWh, not {received.energy_mwh}")
    token = sbt.token_of_device(sent.party)
    if not token:
        raise click.ClickException(f"device {sent.party} has no miner token")
    if (owner := sbt.ownerOf(token)) != account.address:
        raise click.ClickException(f"device {sent.party} is token {token}'s, owned by {owner}, not {account.address}")
    if (hw := sbt.miners(token).status) != 1:
        raise click.ClickException(f"token {token} is {market.HARDWARE_STATUS[hw]}: it cannot sell")
    _check_signer(storage, sent, meter.SENT, sent.party, "the device", sent_path)
    _check_signer(storage, received, meter.RECEIVED, node.meter, f"node {sent.node}'s meter", received_path)
    tx = transact(storage.record_delivery, sent.node, sent.id, sent.party, sent.period_start, sent.period_end,
                  sent.energy_mwh, sent.signature, received.energy_mwh, received.signature, sender=account)
    d = tx.decode_logs(storage.Delivered)[0]
    emit(as_json, {
        "delivery_key": d.key, "node": d.node, "delivery_id": d.delivery_id, "token_id": d.token_id,
        "device": sent.party, "period_start": d.period_start, "period_end": d.period_end, "sent_mwh": d.sent_mwh,
        "received_mwh": d.received_mwh, "loss_mwh": d.loss_mwh, "status": "credited", "tx_hash": tx_hash(tx),
    }, f"delivery {d.delivery_id} into node {d.node} credited to token {d.token_id}: sent {d.sent_mwh} mWh, "
       f"received {d.received_mwh} mWh, loss {d.loss_mwh} mWh (key {d.key}; `request-payment` asks the DAO to pay)")


@cli.command(name="request-payment", cls=ConnectedProviderCommand)
@account_option()
@token_option
@click.option("--days", type=click.IntRange(1, 92), default=30, show_default=True,
              help="The period: this many days up to now.")
@click.option("--exclude", "excluded", multiple=True, type=click.IntRange(0),
              help="Leave out this delivery key (node << 64 | delivery id, as `sell` prints it; repeat).")
@json_option
def request_payment(account, token, days, excluded, as_json):
    """Ask the DAO to pay for your token's credited deliveries of the period (at most 32 a request).

    The DAO reviews the request and votes on `desk.approve(request, price)`; once approved, `status`
    shows the LP shares you received.
    """
    system = load_system()
    storage, desk, sbt = system.storage, system.desk, system.sbt
    token = _token_of(sbt, account, token)
    if (hw := sbt.miners(token).status) != 1:
        raise click.ClickException(f"token {token} is {market.HARDWARE_STATUS[hw]}: the desk pays active miners only")
    end = chain.blocks.head.timestamp
    start = end - days * DAY
    credited = market.get_credited_deliveries(storage, token, record_block(), start, end)
    keys = [k for k in credited if k not in excluded]
    if not keys:
        raise click.ClickException(f"token {token} has no credited deliveries in the last {days} days"
                                   + (f" besides the {len(credited)} excluded" if credited else ""))
    left = keys[MAX_KEYS:]
    keys = keys[:MAX_KEYS]
    received = sum(storage.delivery(k).received_mwh for k in keys)
    if received < MIN_PAYMENT_MWH:
        raise click.ClickException(f"the deliveries received {received} mWh; the desk pays {MIN_PAYMENT_MWH} mWh "
                                   "(1 Wh) or more")
    tx = transact(desk.request_payment, token, start, end, keys, sender=account)
    e = tx.decode_logs(desk.PaymentRequested)[0]
    lines = [f"payment request {e.request_id}: {e.deliveries} deliveries, received {e.received_mwh} mWh "
             f"(sent {e.sent_mwh}); the DAO votes on `desk.approve({e.request_id}, price)` "
             f"(`ape run market review {e.request_id}` suggests the price)"]
    if left:
        lines.append(f"{len(left)} more credited deliveries left for another request (at most {MAX_KEYS} each)")
    emit(as_json, {
        "request_id": e.request_id, "token_id": token, "period_start": start, "period_end": end, "keys": keys,
        "deliveries": e.deliveries, "sent_mwh": e.sent_mwh, "received_mwh": e.received_mwh, "left_over": len(left),
        "status": "pending", "tx_hash": tx_hash(tx),
    }, lines)


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--token", type=click.IntRange(1), default=None, help="One of your tokens; default: all of them.")
@json_option
def claim(account, token, as_json):
    """Claim your DECA: every winning row of your tokens in a posted epoch, not yet claimed, within 14 days."""
    system = load_system()
    sbt, rewards = system.sbt, system.rewards
    tokens = [_token_of(sbt, account, token)] if token else _tokens(sbt, account)
    if not tokens:
        raise click.ClickException(f"{account.address} holds no miner token")
    now, claimed = chain.blocks.head.timestamp, []
    for log in events(rewards.Posted):
        epoch = int(log.epoch)
        waiting = [t for t in tokens if not rewards.is_claimed(epoch, t)]
        if not waiting or now >= rewards.claim_deadline(epoch):
            continue
        try:
            rows = {r.token_id: r for r in oracle.get_table(str(log.uri)).rows}
        except oracle.OracleError as e:
            raise click.ClickException(f"epoch {epoch}: {e}") from None
        for r in (rows[t] for t in waiting if t in rows):
            if r.winner and r.amount:
                tx = transact(rewards.claim, epoch, r.token_id, r.amount, r.a_bps, r.q_bps, r.v_mwh, r.proof,
                              *r.point, sender=account)
                claimed.append({"epoch": epoch, "token_id": r.token_id, "deca_wei": r.amount, "tx_hash": tx_hash(tx)})
    total = sum(c["deca_wei"] for c in claimed)
    lines = table([dict(c, deca=f"{c['deca_wei'] / 1e18:.6f}") for c in claimed],
                  [("epoch", "epoch"), ("token_id", "token"), ("deca", "DECA"), ("tx_hash", "transaction")])
    emit(as_json, {"claimed": claimed, "deca_wei": total},
         lines + [f"claimed {len(claimed)} rows, {total / 1e18:.6f} DECA"] if claimed else "nothing to claim")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--shares", required=True, help="LP shares to redeem (base units of the LP token), or 'all'.")
@slippage_option
@json_option
def withdraw(account, shares, slippage_bps, as_json):
    """Remove your liquidity: redeem LP shares for DECA and ENERGY out of the pool."""
    pool = load_system().pool
    held = pool.balanceOf(account)
    amount = held if shares == "all" else int(shares) if shares.isdigit() else None
    if amount is None:
        raise click.BadParameter(f"{shares!r}: expected an integer or 'all'", param_hint="--shares")
    if held == 0:
        raise click.ClickException(f"{account.address} holds no LP shares")
    if not 0 < amount <= held:
        raise click.ClickException(f"{account.address} holds {held} LP shares; cannot redeem {amount}")
    deca, energy = pool.quote_remove(amount)
    if deca == 0 or energy == 0:
        raise click.ClickException(f"{amount} LP shares redeem {deca} DECA wei and {energy} mWh: too few to withdraw")
    keep = 10_000 - slippage_bps
    min_deca, min_energy = deca * keep // 10_000, energy * keep // 10_000
    tx = transact(pool.remove_liquidity, amount, min_deca, min_energy, account, chain.blocks.head.timestamp + 600,
                  sender=account)
    burn = tx.decode_logs(pool.Burn)[0]
    emit(as_json, {
        "shares": burn.shares, "deca_wei": burn.deca, "energy_mwh": burn.energy, "min_deca_wei": min_deca,
        "min_energy_mwh": min_energy, "shares_left": pool.balanceOf(account), "tx_hash": tx_hash(tx),
    }, f"redeemed {burn.shares} LP shares for {burn.deca / 1e18:.6f} DECA and {burn.energy} mWh of ENERGY "
       f"({pool.balanceOf(account)} shares left)")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--sell", "side", type=click.Choice(["deca", "energy"]), required=True, help="The token you pay.")
@click.option("--amount", type=click.IntRange(1), required=True, help="Base units to sell (DECA wei or mWh).")
@slippage_option
@json_option
def swap(account, side, amount, slippage_bps, as_json):
    """Swap an exact amount of DECA for ENERGY or the reverse, in the pool (approving it first if needed)."""
    system = load_system()
    pool, token_in = system.pool, getattr(system, side)
    other = "energy" if side == "deca" else "deca"
    held = token_in.balanceOf(account)
    if held < amount:
        raise click.ClickException(f"{account.address} holds {held} {side} base units, less than {amount}")
    if pool.totalSupply() == 0:
        raise click.ClickException("the pool is empty: nothing to swap against")
    quoted = pool.get_amount_out(token_in, amount)
    if quoted == 0:
        raise click.ClickException(f"{amount} {side} base units buy nothing: sell more")
    min_out = quoted * (10_000 - slippage_bps) // 10_000
    if min_out == 0:
        raise click.ClickException(f"--slippage-bps {slippage_bps} accepts nothing in return; lower it")
    approve_hash = None
    if token_in.allowance(account, pool) < amount:
        approve_hash = tx_hash(transact(token_in.approve, pool, amount, sender=account))
    tx = transact(pool.swap_exact_in, token_in, amount, min_out, account, chain.blocks.head.timestamp + 600,
                  sender=account)
    s = tx.decode_logs(pool.Swap)[0]
    price = pool.spot_price()
    emit(as_json, {
        "sold": side, "amount_in": s.amount_in, "bought": other, "amount_out": s.amount_out, "quoted": quoted,
        "min_out": min_out, "spot_price": price, "approve_tx_hash": approve_hash, "tx_hash": tx_hash(tx),
    }, f"sold {s.amount_in} {side} base units for {s.amount_out} {other} base units; "
       f"price now {market.deca_per_kwh(price):.6f} DECA/kWh")
