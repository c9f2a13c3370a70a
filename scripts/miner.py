"""The miner's commands: apply for a soulbound token, see its status.

    ape run miner apply --account ALIAS --pubkey 0x<64 bytes> --capacity-w 4200 --lat 39.742 --lon -105.178
    ape run miner status --account ALIAS
    ape run miner readings --account ALIAS [--last 24] [--all]
"""

import click
from ape.cli import ConnectedProviderCommand, account_option
from eth_utils import keccak, to_checksum_address

from offchain.batch import unpack_reading

from ._system import events, load_system, when

APPLICATION_STATUS = {1: "pending", 2: "approved", 3: "rejected"}
HARDWARE_STATUS = {1: "active", 2: "suspended", 3: "revoked"}


def _parse_pubkey(text):
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise click.BadParameter("not hex", param_hint="--pubkey")
    if len(raw) == 65 and raw[0] == 4:
        raw = raw[1:]  # uncompressed SEC1 form
    if len(raw) != 64:
        raise click.BadParameter(f"expected 64 bytes (x ‖ y), got {len(raw)}", param_hint="--pubkey")
    return raw


def _udeg(degrees, limit, name):
    if not -limit <= degrees <= limit:
        raise click.BadParameter(f"{degrees} is outside ±{limit}°", param_hint=name)
    return round(degrees * 1_000_000)


@click.group()
def cli():
    """Miner: identity on chain."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--pubkey", required=True, help="The device's public key, 64 bytes hex (as the device prints it).")
@click.option("--capacity-w", type=click.IntRange(1, 1_000_000), required=True, help="Peak capacity [W].")
@click.option("--lat", type=float, required=True, help="Latitude [degrees].")
@click.option("--lon", type=float, required=True, help="Longitude [degrees].")
@click.option("--uri", default="", help="Metadata URI (panel, inverter, photos).")
def apply(account, pubkey, capacity_w, lat, lon, uri):
    """Apply for a miner token with the device's key."""
    sbt = load_system()["sbt"]
    key = _parse_pubkey(pubkey)
    device = to_checksum_address(keccak(key)[12:])
    token = sbt.token_of_device(device)
    if token:
        raise click.ClickException(f"device {device} already has token {token}")
    if pending := sbt.pending_application(device):
        raise click.ClickException(f"device {device} already has pending application {pending}")
    tx = sbt.apply(device, key, capacity_w, _udeg(lat, 90, "--lat"), _udeg(lon, 180, "--lon"), uri, sender=account)
    app_id = tx.decode_logs(sbt.Applied)[0].application_id
    click.echo(f"application {app_id} for device {device}: pending the DAO's vote")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
def status(account):
    """Your applications and tokens."""
    sbt = load_system()["sbt"]
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
    sbt, registry = system["sbt"], system["registry"]
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
