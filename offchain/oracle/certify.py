"""An epoch's green certificates: which rows of its reward table are certified (pure), their file.

Rule (GreenCertificate): a row of the epoch's published table is certified when its
authenticity reached the DAO's threshold (``a_bps >= min_a_bps``) and PoGG credited it
energy (``v_mwh > 0``); it is owed its credited energy ``v_mwh`` [mWh], one GEC base unit
per mWh. Winners and non-winners alike: the lottery decides who is paid DECA, not whose
energy was real. Each row's leaf is ``merkle.certificate_leaf(epoch, token_id, mwh)``.

Everything here follows from the table and the threshold, so an auditor recomputes the
root from the published table and the threshold logged with the post.
"""

from pathlib import Path
from typing import NamedTuple

from offchain.oracle.state import write_json_atomic
from offchain.oracle.table import fetch_published, parse_bytes32, to_hex
from offchain.protocol import merkle

CERTIFICATES_FORMAT = "green-energy-miners/certificates/1"


class CertificateRow(NamedTuple):
    token_id: int
    owner: str
    mwh: int  # [mWh] certified
    a_bps: int  # [bps] its authenticity in the table
    leaf: bytes
    proof: list  # 32-byte siblings, leaf to root


class Certificates(NamedTuple):
    """An epoch's certificate rows and their root."""

    epoch: int
    table_root: bytes  # the reward table's root: which table the rows come from
    min_a_bps: int  # [bps] threshold used
    root: bytes  # None when no row is certified (nothing to post)
    total_mwh: int
    rows: list  # CertificateRow, by token id


def certify(table, min_a_bps):
    """
    The certificate rows of a reward table (pure).

    Parameters
    ----------
    table : offchain.oracle.table.Table
    min_a_bps : int [bps]
        GreenCertificate's threshold.

    Returns
    -------
    Certificates
    """
    chosen = sorted((r for r in table.rows if r.a_bps >= min_a_bps and r.v_mwh > 0), key=lambda r: r.token_id)
    leaves = [merkle.certificate_leaf(table.epoch, r.token_id, r.v_mwh) for r in chosen]
    tree = merkle.build(leaves) if leaves else None
    rows = [CertificateRow(r.token_id, r.owner, r.v_mwh, r.a_bps, leaves[i], merkle.proof(tree, i))
            for i, r in enumerate(chosen)]
    return Certificates(table.epoch, table.root, int(min_a_bps), tree.root if tree else None,
                        sum(r.mwh for r in rows), rows)


def certificates_path(folder, epoch):
    return Path(folder) / f"certificates-{int(epoch)}.json"


def certificates_json(certs):
    return {
        "format": CERTIFICATES_FORMAT,
        "epoch": certs.epoch,
        "table_root": to_hex(certs.table_root),
        "min_a_bps": certs.min_a_bps,
        "root": None if certs.root is None else to_hex(certs.root),
        "total_mwh": certs.total_mwh,
        "rows": [{"token_id": r.token_id, "owner": r.owner, "mwh": r.mwh, "a_bps": r.a_bps, "leaf": to_hex(r.leaf),
                  "proof": [to_hex(p) for p in r.proof]} for r in certs.rows],
    }


def write_certificates(path, certs):
    """Write an epoch's certificate rows atomically."""
    write_json_atomic(path, certificates_json(certs))


def _parse(obj):
    try:
        if obj.get("format") != CERTIFICATES_FORMAT:
            raise ValueError(f"format {obj.get('format')!r}, expected {CERTIFICATES_FORMAT}")
        rows = [CertificateRow(int(r["token_id"]), str(r["owner"]), int(r["mwh"]), int(r["a_bps"]),
                               parse_bytes32(r["leaf"], "leaf"), [parse_bytes32(p, "proof") for p in r["proof"]])
                for r in obj["rows"]]
        root = None if obj["root"] is None else parse_bytes32(obj["root"], "root")
        return Certificates(int(obj["epoch"]), parse_bytes32(obj["table_root"], "table root"), int(obj["min_a_bps"]),
                            root, int(obj["total_mwh"]), rows)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"malformed certificate file ({type(e).__name__}: {e})") from None


def get_certificates(uri, timeout=30):
    """
    The certificate rows a posted URI points to (``file://`` or ``http(s)://``).

    Raises
    ------
    OracleError
        If it cannot be read or is not a certificate file.
    """
    return fetch_published(uri, "certificate file", _parse, timeout)
