"""
The indexer: the MeasurementRegistry's ``BatchAccepted`` events into the store.

- :func:`follow` reads from the block after the last one indexed up to the chain head
  (less ``confirmations``), in steps; each step's batches and its last block are written
  in one transaction, so a crash resumes where the last step ended.
- :func:`rebuild` empties the index and reads again from the registry's deployment.
- :func:`verify` recomputes each stored batch's EIP-712 digest and signer from the stored
  fields (:mod:`offchain.protocol.batch`, independent of the device's encoder) and compares the
  store with the chain's events; it returns every difference.

The functions take an ape contract instance of the registry and a store connection.
"""

from typing import NamedTuple

from eth_utils import to_checksum_address

from offchain.index import store
from offchain.protocol.batch import as_hex, batch_digest, domain_separator, pack_reading, recover_signer, unpack_reading

STEP = 2_000  # blocks per event query
KEY_LAST_BLOCK = "indexer.last_block"
KEY_REGISTRY = "indexer.registry"
KEY_CHAIN = "indexer.chain_id"


class Difference(NamedTuple):
    """
    One disagreement found by :func:`verify`.

    ``kind`` is ``missing`` (on chain, not in the store), ``extra`` (in the store, not on
    chain) or ``mismatched`` (both, but a field, the recomputed digest or the signer
    differs); ``batch_hash`` is ``None`` for a difference that is not one batch's.
    """

    kind: str
    batch_hash: str
    detail: str


# ----------------------------------------------------------------- chain



def _parse_event(log):
    """A :class:`offchain.index.store.BatchRow` from one decoded ``BatchAccepted`` log."""
    return store.BatchRow(
        batch_hash=as_hex(log.batch_hash),
        device=to_checksum_address(log.device),
        token_id=int(log.token_id),
        epoch=int(log.epoch),
        seq=int(log.seq),
        prev_batch=as_hex(log.prev_batch),
        pow_nonce=int(log.pow_nonce),
        signature=as_hex(log.signature),
        block_number=int(log.block_number),
        tx_hash=as_hex(log.transaction_hash),
        log_index=int(log.log_index),
        readings=tuple(tuple(unpack_reading(int(r))) for r in log.readings),
    )


def get_head(registry):
    """The chain's latest block number."""
    return registry.chain_manager.blocks.height


def get_chain_id(registry):
    """The chain id the registry lives on."""
    return registry.chain_manager.chain_id


def get_deployment_block(registry):
    """
    The block the registry was deployed in, or 0 when the provider cannot tell
    (then reading starts at genesis: slower, same result).
    """
    try:
        creation = registry.creation_metadata
    except Exception:  # noqa: BLE001 - providers without creation lookup
        return 0
    return 0 if creation is None or creation.block is None else int(creation.block)


def get_batches(registry, start_block, stop_block):
    """
    Accepted batches in blocks ``[start_block, stop_block]`` (inclusive), in chain order.

    Returns
    -------
    list of BatchRow
    """
    if stop_block < start_block:
        return []
    # ContractEvent.range(start, stop) reads blocks start .. stop - 1 (stop 0 would mean the head)
    logs = registry.BatchAccepted.range(start_block, stop_block + 1)
    rows = [_parse_event(log) for log in logs]
    rows.sort(key=lambda r: (r.block_number, r.log_index))
    return rows


# ----------------------------------------------------------------- follow / rebuild


def _check_same_registry(registry, conn):
    known = store.read_meta(conn, KEY_REGISTRY)
    if known is not None and known != registry.address:
        raise ValueError(f"indexer: the store indexes registry {known}, not {registry.address}; rebuild it")


def follow(registry, conn, start_block=None, stop_block=None, step=STEP, confirmations=0):
    """
    Index new ``BatchAccepted`` events up to the chain head; resumable.

    Parameters
    ----------
    registry : ape ContractInstance
    conn : sqlite3.Connection
    start_block : int, optional
        First block to read when the store has no progress yet (default: the registry's
        deployment block).
    stop_block : int, optional
        Last block to read (default: head - confirmations).
    step : int
        Blocks per event query and per transaction.
    confirmations : int
        Blocks left unread behind the head (on chains that reorganise).

    Returns
    -------
    int
        Number of batches newly stored.
    """
    _check_same_registry(registry, conn)
    last = store.read_meta(conn, KEY_LAST_BLOCK)
    if last is not None:
        start = int(last) + 1
    elif start_block is not None:
        start = start_block
    else:
        start = get_deployment_block(registry)
    stop = get_head(registry) - confirmations if stop_block is None else stop_block
    meta = {KEY_REGISTRY: registry.address, KEY_CHAIN: str(get_chain_id(registry))}
    added = 0
    while start <= stop:
        end = min(start + step - 1, stop)
        rows = get_batches(registry, start, end)
        added += store.write_batches(conn, rows, meta={**meta, KEY_LAST_BLOCK: str(end)})
        start = end + 1
    return added


def rebuild(registry, conn, start_block=None, step=STEP):
    """
    Empty the index and read every ``BatchAccepted`` again (the gateway's queue is kept).

    Returns
    -------
    int
        Number of batches stored.
    """
    store.delete_index(conn, (KEY_LAST_BLOCK, KEY_REGISTRY, KEY_CHAIN))
    if start_block is None:
        start_block = get_deployment_block(registry)
    return follow(registry, conn, start_block=start_block, step=step)


# ----------------------------------------------------------------- verify


def recompute(separator, row):
    """
    Digest and signer of a stored batch, from its stored fields only.

    Returns
    -------
    (str, str or None)
        ``0x`` digest and the recovered address (``None`` if the signature does not recover).
    """
    packed = [pack_reading(*r) for r in row.readings]
    digest = batch_digest(
        separator, row.device, row.epoch, row.seq, packed, bytes.fromhex(row.prev_batch[2:]), row.pow_nonce
    )
    return "0x" + digest.hex(), recover_signer(digest, bytes.fromhex(row.signature[2:]))


_COMPARED = (
    "device", "token_id", "epoch", "seq", "prev_batch", "pow_nonce", "signature",
    "block_number", "tx_hash", "log_index", "readings",
)


def verify(registry, conn, start_block=None, step=STEP, counts=True):
    """
    Check the store against the chain and against itself.

    For every stored batch the digest is recomputed from the stored fields and must be its
    ``batch_hash``, and the signature must recover to its device. Every ``BatchAccepted``
    event up to the last indexed block must be stored with equal fields, and nothing else
    may be stored. With ``counts``, each stored epoch's N must equal its stored readings
    and the registry's ``legal_count`` (where the registry still remembers it: it forgets
    counts older than about 14 days and then answers 0).

    Parameters
    ----------
    start_block : int, optional
        Where the registry's events begin (default: its deployment block).

    Returns
    -------
    list of Difference
        Empty when the store is a faithful index of the chain.
    """
    diffs = []
    separator = domain_separator(get_chain_id(registry), registry.address)
    if separator != bytes(registry.domain_separator()):
        diffs.append(Difference("mismatched", None, "domain separator: computed differs from the registry's"))

    stored = {row.batch_hash: row for row in store.read_batches(conn)}
    for h, row in stored.items():
        digest, signer = recompute(separator, row)
        if digest != h:
            diffs.append(Difference("mismatched", h, f"digest: recomputed {digest} from the stored fields"))
        if signer != row.device:
            diffs.append(Difference("mismatched", h, f"signature: recovers to {signer}, not {row.device}"))

    last = store.read_meta(conn, KEY_LAST_BLOCK)
    if last is None:
        chain_rows = {}
    else:
        start = get_deployment_block(registry) if start_block is None else start_block
        chain_rows = {}
        for begin in range(start, int(last) + 1, step):
            for row in get_batches(registry, begin, min(begin + step - 1, int(last))):
                chain_rows[row.batch_hash] = row
    for h, row in chain_rows.items():
        mine = stored.get(h)
        if mine is None:
            diffs.append(Difference("missing", h, f"device {row.device} seq {row.seq} in block {row.block_number}"))
            continue
        for field in _COMPARED:
            if getattr(mine, field) != getattr(row, field):
                diffs.append(Difference(
                    "mismatched", h, f"{field}: store {getattr(mine, field)!r}, chain {getattr(row, field)!r}"
                ))
    for h, row in stored.items():
        if h not in chain_rows:
            diffs.append(Difference("extra", h, f"device {row.device} seq {row.seq} not on chain"))

    if counts:
        diffs.extend(_verify_counts(registry, conn))
    return diffs


def _verify_counts(registry, conn):
    diffs = []
    per_epoch = dict(
        ((device, epoch), n)
        for device, epoch, n in conn.execute("SELECT device, epoch, COUNT(*) FROM readings GROUP BY device, epoch")
    )
    for device, epoch, n in conn.execute("SELECT device, epoch, n FROM epochs ORDER BY device, epoch").fetchall():
        if per_epoch.get((device, epoch), 0) != n:
            diffs.append(Difference(
                "mismatched", None, f"epochs: {device} epoch {epoch} N {n}, readings {per_epoch.get((device, epoch), 0)}"
            ))
        on_chain = int(registry.legal_count(device, epoch))
        if on_chain != 0 and on_chain != n:
            diffs.append(Difference(
                "mismatched", None, f"epochs: {device} epoch {epoch} N {n}, registry legal_count {on_chain}"
            ))
    return diffs
