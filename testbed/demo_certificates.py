"""The demo's certificate chapter: what the oracle certified, the DAO's emission factor for the
miners' grid, certificates issued to miners, a DECA/GEC pool, and a buyer who retires some."""

from collections import Counter
from typing import NamedTuple

import click

from offchain.governance import call
from offchain.oracle.certify import certificates_path, get_certificates
from testbed.localchain import now

# The miners' grid region (a box over Colorado's Front Range) and its factor [gCO2e/kWh]
REGION = (1, "Front Range (demo box)", 39_000_000, 41_000_000, -106_000_000, -104_000_000, 560,
          "demo figure: a deployment cites its grid's published factor (e.g. EPA eGRID, subregion RMPA)")
SEED_PRICE = 10**12  # [DECA wei per mWh] 1 DECA per kWh, the green pool's opening price
GRANT = 2 * 10**17  # [DECA wei] the DAO's grant to a certificate buyer
BENEFICIARY = "Golden public library"
REASON = "demo: green electricity of its reading room"


class Certified(NamedTuple):
    certified_mwh: int  # posted by the oracle, all epochs
    by_kind: dict  # {kind: mWh certified}, honest and each cheat
    issued_mwh: int  # issued to the miners that asked
    retired_mwh: int
    retired_co2_ug: int


def read_rows(folder, epochs):
    """``{epoch: [CertificateRow]}`` of the epochs' certificate files in the oracle's folder, each read once."""
    paths = {e: certificates_path(folder, e) for e in epochs}
    return {e: get_certificates(p.as_uri()).rows for e, p in paths.items() if p.is_file()}


def certified_by_kind(rows, kinds):
    """``{kind: mWh}`` certified in ``rows`` (:func:`read_rows`); ``kinds`` maps token -> kind."""
    out = Counter()
    for epoch_rows in rows.values():
        for r in epoch_rows:
            out[kinds.get(r.token_id, "?")] += r.mwh
    return out


def issue_all(system, rows, token, sender):
    """Issue every certificate row of ``token`` in ``rows`` (:func:`read_rows`); returns the mWh issued."""
    cert, total = system.certificate, 0
    for e, epoch_rows in rows.items():
        for r in epoch_rows:
            if r.token_id == token and not cert.issued(e, token):
                cert.issue(e, token, r.mwh, r.proof, sender=sender)
                total += r.mwh
    return total


def run_certificates(chain, system, members, wallets, issuers, buyer, ballot, folder, epochs, kinds):
    """
    The chapter. ``wallets`` are the miners' accounts by applicant index, ``issuers`` the indices of
    the miners who issue their certificates (the first also seeds the green pool), ``kinds``
    ``{token: kind}`` (honest or a cheat).
    """
    cert, pool, deca, sbt = system.certificate, system.green_pool, system.deca, system.sbt
    rows = read_rows(folder, epochs)
    by_kind = certified_by_kind(rows, kinds)
    click.echo(f"== green certificates: after each epoch's rewards the oracle certified the credited energy of every "
               f"miner with authenticity ≥ {cert.min_a_bps() / 100:g} %")
    for kind in sorted(set(kinds.values())):
        click.echo(f"  {kind:>12}: {by_kind[kind] / 1e6:8.3f} kWh certified")
    seeder = wallets[issuers[0]]
    ballot(system.dao, members, [call(cert.set_region, *REGION), call(pool.set_seeder, seeder.address),
                                 call(deca.transfer, buyer.address, GRANT)],
           f"grid factor {REGION[6]} gCO2e/kWh for the Front Range; a miner opens the DECA/GEC pool; "
           f"{GRANT / 1e18:g} DECA to a certificate buyer")
    issued = 0
    for i in issuers:
        token = sbt.tokenOfOwnerByIndex(wallets[i], 0)
        issued += issue_all(system, rows, token, wallets[i])
    click.echo(f"  {len(issuers)} miners issue their certificates: {issued / 1e6:.3f} kWh of GEC "
               f"({cert.issued_co2_ug() / 1e9:.3f} kgCO2e avoided)")
    gec = cert.balanceOf(seeder) // 2
    d = min(deca.balanceOf(seeder) // 2, gec * SEED_PRICE)
    if gec and d:
        cert.approve(pool, gec, sender=seeder)
        deca.approve(pool, d, sender=seeder)
        pool.add_liquidity(d, gec, d, gec, seeder, now(chain) + 600, sender=seeder)
        click.echo(f"  miner {seeder.address[:10]} opens the DECA/GEC pool: {d / 1e18:.4f} DECA and {gec / 1e6:.3f} kWh")
        spend = min(GRANT, d // 4)  # a quarter of the pool's DECA: the price moves, the pool stays
        quoted = pool.get_amount_out(deca, spend)
        deca.approve(pool, spend, sender=buyer)
        pool.swap_exact_in(deca, spend, quoted * 995 // 1000, buyer, now(chain) + 600, sender=buyer)
        bought = cert.balanceOf(buyer)
        click.echo(f"  a buyer swaps {spend / 1e18:.4f} DECA for {bought / 1e6:.4f} kWh of certificates")
        tx = cert.retire(bought, BENEFICIARY, REASON, sender=buyer)
        log = tx.decode_logs(cert.Retired)[0]
        click.echo(f"  and retires them for «{BENEFICIARY}»: retirement {log.retirement_id}, {bought / 1e6:.4f} kWh, "
                   f"{log.co2_ug / 1e9:.4f} kgCO2e avoided (final: burned, recorded on chain)")
    else:
        click.echo("  the seeding miner holds no DECA or no certificates: the green pool stays closed")
    return Certified(sum(by_kind.values()), dict(by_kind), issued, cert.retired_mwh(), cert.retired_co2_ug())
