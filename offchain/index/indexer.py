"""
The indexer: the MeasurementRegistry's ``BatchAccepted`` events into the store.

- :func:`follow` reads from the block after the last one indexed up to the chain head
  (less ``confirmations``), in steps; each step's batches, its last block and the hashes
  of the newest ``window`` blocks read are written in one transaction, so a crash resumes
  where the last step ended.
- :func:`reconcile` (run by :func:`follow` before each step) undoes a reorg: when the hash
  of the last indexed block is no longer the chain's, it walks back through the recorded
  hashes to the newest block still on the chain (the fork point), deletes what the index
  took from the blocks after it, and :func:`follow` reads them again. A reorg deeper than
  the recorded hashes raises :class:`ReorgError`: only :func:`rebuild` repairs that.
- :func:`rebuild` empties the index and reads again from the registry's deployment.
- :func:`verify` recomputes each stored batch's EIP-712 digest and signer from the stored
  fields (:mod:`offchain.protocol.batch`, independent of the device's encoder) and compares the
  store with the chain's events; it returns every difference.

The functions take an ape contract instance of the registry and a store connection.
"""

import logging
from typing import NamedTuple

from ape.exceptions import BlockNotFoundError
from eth_utils import to_checksum_address

from offchain.index import store
from offchain.protocol.batch import as_hex, batch_digest, domain_separator, pack_reading, recover_signer, unpack_reading
from offchain.views import call_view, get_logs

STEP = 2_000  # blocks per event query
WINDOW = 64  # newest indexed blocks whose hashes the store keeps: the deepest reorg undone in place
RETRIES = 3  # re-reads of a step whose blocks changed while it was read, before follow stops for this time
KEY_LAST_BLOCK = "indexer.last_block"
KEY_REGISTRY = "indexer.registry"
KEY_CHAIN = "indexer.chain_id"
LEGAL_COUNTS_MAX = 256  # devices per legal_counts call (the registry's MAX_QUERY)

log = logging.getLogger(__name__)


class ReorgError(ValueError):
    """The chain reorganised deeper than the block hashes the store keeps: only :func:`rebuild` repairs it."""


class Rollback(NamedTuple):
    """
    What :func:`reconcile` undid after a reorg.

    ``fork_block`` is the newest indexed block still on the chain (the index now ends
    there), ``last_block`` the last indexed block before, ``batches`` the ``0x`` hashes of
    the removed batches, in chain order.
    """

    fork_block: int
    last_block: int
    batches: tuple


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


def get_block_hash(registry, number):
    """The ``0x`` hash of the chain's block ``number``, or ``None`` when the chain is shorter."""
    try:
        return as_hex(registry.provider.get_block(number).hash)
    except BlockNotFoundError:
        if number <= get_head(registry):
            raise  # the block is there: the node failed to answer, which is no reorg
        return None


def _get_logs(registry, start_block, stop_block):
    if stop_block < start_block:
        return []
    return get_logs(registry, "BatchAccepted", start_block, stop_block)


def _to_rows(logs):
    rows = [_parse_event(log) for log in logs]
    rows.sort(key=lambda r: (r.block_number, r.log_index))
    return rows


def get_batches(registry, start_block, stop_block):
    """
    Accepted batches in blocks ``[start_block, stop_block]`` (inclusive), in chain order.

    Returns
    -------
    list of BatchRow
    """
    return _to_rows(_get_logs(registry, start_block, stop_block))


# ----------------------------------------------------------------- reorgs


def find_fork(recorded, chain_hash):
    """
    The newest recorded block the chain still has, walking back from the newest.

    Parameters
    ----------
    recorded : iterable of (int, str)
        Block numbers and the hashes they had when read, newest first.
    chain_hash : callable
        ``chain_hash(number)``: the block's hash on the chain now (``None`` if it has none).

    Returns
    -------
    int or None
        That block's number; ``None`` when no recorded block is on the chain any more.
    """
    return next((number for number, h in recorded if chain_hash(number) == h), None)


def read_unchanged(logs, hashes):
    """
    Whether logs were read from the blocks whose hashes were read just before them.

    Parameters
    ----------
    logs : iterable of (int, str)
        Block number and ``0x`` block hash of each log.
    hashes : dict
        ``{block_number: 0x hash or None}`` read before the logs.

    Returns
    -------
    bool
        ``False`` when a block of ``hashes`` is missing or a log's block hash differs.
    """
    if any(h is None for h in hashes.values()):
        return False
    return all(hashes.get(number, h) == h for number, h in logs)


def reconcile(registry, conn):
    """
    Undo the index's blocks that a reorg has taken off the chain.

    Compares the recorded hash of the last indexed block with the chain's (one call when
    nothing changed). When it differs, walks back through the recorded hashes to the fork
    point and deletes every batch, reading and count the index took from the blocks after
    it (:func:`offchain.index.store.delete_after_block`); the next :func:`follow` reads
    them again from the chain as it is now.

    Returns
    -------
    Rollback or None
        ``None`` when the recorded blocks are all still on the chain (or none is recorded).

    Raises
    ------
    ReorgError
        No recorded block is on the chain any more: the reorg is deeper than the recorded
        hashes (or the chain was replaced). The store is left as it was.
    """
    recorded = store.read_blocks(conn)
    if not recorded:  # nothing indexed yet, or a store from before block hashes were kept
        return None
    tip, tip_hash = recorded[0]
    if get_block_hash(registry, tip) == tip_hash:
        return None
    fork = find_fork(recorded[1:], lambda number: get_block_hash(registry, number))
    if fork is None:
        oldest = recorded[-1][0]
        raise ReorgError(
            f"indexer: the chain reorganised below block {oldest}: none of the {len(recorded)} block hashes "
            f"the store keeps (blocks {oldest} to {tip}) is on the chain any more; rebuild the store"
        )
    last = int(store.read_meta(conn, KEY_LAST_BLOCK, tip))
    removed = store.delete_after_block(conn, fork, meta={KEY_LAST_BLOCK: str(fork)})
    rollback = Rollback(fork, last, tuple(removed))
    log.warning("indexer: reorg after block %d: rolled back blocks %d to %d (%d batches); reading them again",
                fork, fork + 1, last, len(removed))
    return rollback


# ----------------------------------------------------------------- follow / rebuild


def _check_same_registry(registry, conn):
    known = store.read_meta(conn, KEY_REGISTRY)
    if known is not None and known != registry.address:
        raise ValueError(f"indexer: the store indexes registry {known}, not {registry.address}; rebuild it")


def _next_block(registry, conn, start_block):
    last = store.read_meta(conn, KEY_LAST_BLOCK)
    if last is not None:
        return int(last) + 1
    return get_deployment_block(registry) if start_block is None else start_block


def follow(registry, conn, start_block=None, stop_block=None, step=STEP, confirmations=0, window=WINDOW):
    """
    Index new ``BatchAccepted`` events up to the chain head; resumable; undoes reorgs.

    Before each step, :func:`reconcile` checks that the last indexed block is still on
    the chain and rolls the index back to the fork point when it is not. A step whose
    blocks change while it is read (its logs come from other blocks than the hashes read
    just before) is read again; after ``RETRIES`` such steps, follow stops there (with a
    warning) and the next call goes on.

    Parameters
    ----------
    registry : ape ContractInstance
    conn : sqlite3.Connection
    start_block : int, optional
        First block to read when the store has no progress yet (default: the registry's
        deployment block).
    stop_block : int, optional
        Last block to read (default, and at most: head - confirmations).
    step : int
        Blocks per event query and per transaction.
    confirmations : int
        Blocks left unread behind the head (on chains that reorganise).
    window : int
        Newest read blocks whose hashes are kept: the deepest reorg undone in place.

    Returns
    -------
    int
        Number of batches newly stored (including any stored again after a rollback).

    Raises
    ------
    ReorgError
        The chain reorganised deeper than the recorded hashes (``window`` blocks); the
        store is left as it was.
    """
    _check_same_registry(registry, conn)
    head = get_head(registry) - confirmations
    stop = head if stop_block is None else min(stop_block, head)
    meta = {KEY_REGISTRY: registry.address, KEY_CHAIN: str(get_chain_id(registry))}
    added, changed = 0, 0
    while True:
        reconcile(registry, conn)
        start = _next_block(registry, conn, start_block)
        if start > stop:
            return added
        end = min(start + step - 1, stop)
        hashes = {n: get_block_hash(registry, n) for n in range(max(start, stop - window + 1), end + 1)}
        logs = _get_logs(registry, start, end)
        if not read_unchanged([(int(x.block_number), as_hex(x.block_hash)) for x in logs], hashes):
            changed += 1
            if changed > RETRIES:
                log.warning("indexer: blocks %d to %d kept changing while they were read; stopped at block %d",
                            start, end, start - 1)
                return added
            continue  # reconcile, then read the step again
        added += store.write_batches(conn, _to_rows(logs), meta={**meta, KEY_LAST_BLOCK: str(end)},
                                     blocks=hashes, keep_blocks=window)


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


def legal_counts(registry, pairs):
    """The registry's ``legal_count(device, epoch)`` of each ``(device, epoch)`` pair, as ints.

    One bare ``eth_call`` (:func:`offchain.views.call_view`) of the registry's ``legal_counts`` per
    epoch and 256 devices: the oracle and the index check ask for every device of an epoch.
    """
    by_epoch = {}
    for i, (device, epoch) in enumerate(pairs):
        by_epoch.setdefault(int(epoch), []).append((i, device))
    out = [0] * len(pairs)
    for epoch, items in by_epoch.items():
        for lo in range(0, len(items), LEGAL_COUNTS_MAX):
            part = items[lo:lo + LEGAL_COUNTS_MAX]
            for (i, _), n in zip(part, call_view(registry, "legal_counts", [d for _, d in part], epoch)):
                out[i] = n
    return out


def _verify_counts(registry, conn):
    diffs = []
    per_epoch = dict(
        ((device, epoch), n)
        for device, epoch, n in conn.execute("SELECT device, epoch, COUNT(*) FROM readings GROUP BY device, epoch")
    )
    rows = conn.execute("SELECT device, epoch, n FROM epochs ORDER BY device, epoch").fetchall()
    for (device, epoch, n), on_chain in zip(rows, legal_counts(registry, [(d, e) for d, e, _ in rows])):
        if per_epoch.get((device, epoch), 0) != n:
            diffs.append(Difference(
                "mismatched", None, f"epochs: {device} epoch {epoch} N {n}, readings {per_epoch.get((device, epoch), 0)}"
            ))
        if on_chain != 0 and on_chain != n:
            diffs.append(Difference(
                "mismatched", None, f"epochs: {device} epoch {epoch} N {n}, registry legal_count {on_chain}"
            ))
    return diffs
