"""Green energy certificates (GEC, 1 unit = 1 mWh of verified generation): issue, retire, audit.

    ape run certificate issue --account ALIAS [--token 1 ...]
    ape run certificate retire --account ALIAS --mwh 250000 --beneficiary "ACME GmbH" --reason "2026 office use"
    ape run certificate retirements
    ape run certificate regions
    ape run certificate show [--address 0x...]

`issue` may be sent by anyone: certificates go to the token's owner. Every command takes
--json (one JSON object; energy in mWh, avoided CO2 in µgCO2e, DECA in wei) and --network.
Every input is checked against the chain before anything is sent: a refusal is one line and
costs nothing.
"""

import click
from ape.cli import ConnectedProviderCommand

from offchain.oracle import OracleError
from offchain.oracle.certify import get_certificates

from ._system import account_option, address, emit, events, json_option, load_system, table, transact, tx_hash, when

MAX_BENEFICIARY = 64  # GreenCertificate's bounds [bytes]
MAX_REASON = 128


def _kwh(mwh):
    return f"{mwh / 1e6:,.3f} kWh"


def _kg(co2_ug):
    return f"{co2_ug / 1e9:,.3f} kgCO2e"


@click.group()
def cli():
    """Green energy certificates: one GEC base unit per verified mWh, retired with a beneficiary.

    The oracle posts each epoch's certificate rows (miners whose authenticity reached the
    DAO's threshold, with their credited energy) after the epoch's rewards; `issue` mints them
    to the tokens' owners, once; `retire` burns certificates for good and records for whom and
    why; `retirements` lists every retirement (the auditor's view).
    """


def _pending(system, tokens):
    """``[(epoch, row)]`` posted for ``tokens`` and not issued yet, oldest first."""
    cert, out = system.certificate, []
    for log in events(cert.CertificatesPosted):
        epoch = int(log.epoch)
        wanted = [t for t in tokens if not cert.issued(epoch, t)]
        if not wanted:
            continue
        try:
            rows = {r.token_id: r for r in get_certificates(str(log.uri)).rows}
        except OracleError as e:
            raise click.ClickException(f"epoch {epoch}: {e}") from None
        out += [(epoch, rows[t]) for t in wanted if t in rows]
    return out


@cli.command(cls=ConnectedProviderCommand)
@account_option("The account that sends the transactions (certificates go to each token's owner).")
@click.option("--token", "tokens", multiple=True, type=click.IntRange(1),
              help="A miner token (repeat); default: every token the account holds.")
@json_option
def issue(account, tokens, as_json):
    """Issue every posted, not yet issued certificate row of the tokens."""
    system = load_system()
    sbt = system.sbt
    tokens = list(tokens) or [sbt.tokenOfOwnerByIndex(account, i) for i in range(sbt.balanceOf(account))]
    if not tokens:
        raise click.ClickException(f"{account.address} holds no miner token; name one with --token")
    for t in tokens:
        if sbt.miners(t).status == 0:
            raise click.ClickException(f"there is no miner token {t}")
    issued = []
    for epoch, row in _pending(system, tokens):
        receipt = transact(system.certificate.issue, epoch, row.token_id, row.mwh, row.proof, sender=account)
        issued.append({"epoch": epoch, "token_id": row.token_id, "mwh": row.mwh, "tx": tx_hash(receipt)})
    total = sum(i["mwh"] for i in issued)
    lines = table(issued, [("epoch", "epoch"), ("token_id", "token"), ("mwh", "mWh"), ("tx", "transaction")])
    emit(as_json, {"issued": issued, "total_mwh": total},
         lines + [f"issued {len(issued)} rows, {_kwh(total)}"] if issued else "nothing to issue")


@cli.command(cls=ConnectedProviderCommand)
@account_option("The holder's account: its certificates are retired.")
@click.option("--mwh", type=click.IntRange(1), required=True, help="Energy to retire [mWh] (GEC base units).")
@click.option("--beneficiary", required=True, help=f"Who the energy is claimed for (at most {MAX_BENEFICIARY} bytes).")
@click.option("--reason", default="", help=f"Why: the period and use it covers (at most {MAX_REASON} bytes).")
@json_option
def retire(account, mwh, beneficiary, reason, as_json):
    """Retire certificates for a beneficiary: burned and recorded on chain for good."""
    for text, limit, name in ((beneficiary, MAX_BENEFICIARY, "--beneficiary"), (reason, MAX_REASON, "--reason")):
        if len(text.encode()) > limit:
            raise click.BadParameter(f"{len(text.encode())} bytes, at most {limit}", param_hint=name)
    if not beneficiary.strip():
        raise click.BadParameter("empty", param_hint="--beneficiary")
    cert = load_system().certificate
    if (held := cert.balanceOf(account)) < mwh:
        raise click.ClickException(f"{account.address} holds {held} mWh of GEC, fewer than {mwh}")
    receipt = transact(cert.retire, mwh, beneficiary, reason, sender=account)
    log = next(iter(cert.Retired.from_receipt(receipt)))
    data = {"retirement_id": log.retirement_id, "mwh": mwh, "co2_ug": log.co2_ug, "beneficiary": beneficiary,
            "reason": reason, "tx": tx_hash(receipt)}
    emit(as_json, data, f"retirement {log.retirement_id}: {_kwh(mwh)} ({_kg(log.co2_ug)} avoided) for "
                        f"{beneficiary} (tx {data['tx']})")


@cli.command(cls=ConnectedProviderCommand)
@json_option
def retirements(as_json):
    """Every retirement ever made: holder, energy, avoided CO2, beneficiary, reason, time."""
    cert = load_system().certificate
    rows = []
    for i in range(cert.retirement_count()):
        r = cert.retirements(i)
        rows.append({"retirement_id": i, "holder": r.holder, "mwh": r.mwh, "co2_ug": r.co2_ug, "time": r.time,
                     "beneficiary": r.beneficiary, "reason": r.reason})
    text = table([dict(r, when=when(r["time"]), kwh=f"{r['mwh'] / 1e6:,.3f}", kg=f"{r['co2_ug'] / 1e9:,.3f}")
                  for r in rows],
                 [("retirement_id", "id"), ("when", "when"), ("holder", "holder"), ("kwh", "kWh"),
                  ("kg", "kgCO2e"), ("beneficiary", "beneficiary"), ("reason", "reason")])
    total = sum(r["mwh"] for r in rows)
    emit(as_json, {"retirements": rows, "retired_mwh": total},
         text + [f"{len(rows)} retirements, {_kwh(total)}"] if rows else "no retirement yet")


@cli.command(cls=ConnectedProviderCommand)
@json_option
def regions(as_json):
    """The grid regions and their emission factors (set by the DAO), with each factor's source."""
    cert = load_system().certificate
    rows = []
    for i in range(cert.region_count()):
        r = cert.regions(i)
        rows.append({"region": i, "name": r.name, "south_udeg": r.south_udeg, "north_udeg": r.north_udeg,
                     "west_udeg": r.west_udeg, "east_udeg": r.east_udeg, "factor_g_per_kwh": r.factor_g_per_kwh,
                     "source": r.source})
    text = table([dict(r, box="whole earth (default)" if r["region"] == 0 else
                       f"lat {r['south_udeg'] / 1e6:g}..{r['north_udeg'] / 1e6:g}, "
                       f"lon {r['west_udeg'] / 1e6:g}..{r['east_udeg'] / 1e6:g}") for r in rows],
                 [("region", "region"), ("name", "name"), ("box", "box"), ("factor_g_per_kwh", "gCO2e/kWh"),
                  ("source", "source")])
    emit(as_json, {"regions": rows, "min_a_bps": cert.min_a_bps()},
         text + [f"certified: table rows with authenticity ≥ {cert.min_a_bps() / 100:g} %"])


@cli.command(cls=ConnectedProviderCommand)
@click.option("--address", "holder", default=None, help="Also show this holder's balance.")
@json_option
def show(holder, as_json):
    """Certificates issued, alive and retired, with their avoided CO2, and the DECA/GEC pool."""
    system = load_system()
    cert, pool = system.certificate, system.green_pool
    d, g, _ = pool.reserves()
    data = {"issued_mwh": cert.issued_mwh(), "live_mwh": cert.totalSupply(), "retired_mwh": cert.retired_mwh(),
            "issued_co2_ug": cert.issued_co2_ug(), "retired_co2_ug": cert.retired_co2_ug(),
            "pool": {"deca_wei": d, "gec_mwh": g}}
    lines = [f"issued   {_kwh(data['issued_mwh'])} ({_kg(data['issued_co2_ug'])} avoided)",
             f"alive    {_kwh(data['live_mwh'])}",
             f"retired  {_kwh(data['retired_mwh'])} ({_kg(data['retired_co2_ug'])})",
             f"DECA/GEC pool: {d / 1e18:,.6f} DECA, {_kwh(g)}" + (f", {d / 1e12 / g:,.6f} DECA per kWh" if g else "")]
    if holder:
        holder = address(holder, "--address")
        data["holder"] = {"address": holder, "gec_mwh": cert.balanceOf(holder)}
        lines.append(f"{holder}: {_kwh(data['holder']['gec_mwh'])} of GEC")
    emit(as_json, data, lines)
