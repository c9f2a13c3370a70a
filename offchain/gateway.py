"""
The gateway: an HTTP endpoint on loopback that devices post signed batches to, and a
relay that sends them to the MeasurementRegistry with ``submit_many``.

Every check that costs no gas happens before a batch is queued: JSON shape and ranges,
readings in order and inside their epoch, proof of work, the EIP-712 signature by the
device, the device known to the SBT and active, and ``seq``/``prev_batch``/readings
continuing what the chain and the queue already hold. A refusal is a 4xx with one line
of JSON, ``{"error": "..."}``. Accepted batches are queued in the store (status
``pending``) before the answer goes out, so a restart resumes them; the relay records
each one's outcome (``accepted`` with its transaction, ``skipped`` with the registry's
reason, or ``failed`` after repeated reverts).

A batch may carry the device's health report (``health``: its counters and uptime, signed by
the device key for that batch; docs/protocol.md). It is optional, checked like the batch (a
malformed one refuses the request, 400; one not signed by the device, 403) and kept, the
latest per device with the one before it, in the same transaction as the queue.

Routes: ``POST /batches``, ``GET /batches/<digest>``, ``GET /health``, ``GET /devices``,
``GET /devices/<address>``.

The chain is reached through a *registry client* (:class:`ApeRegistry` on a live ape
provider, or any object with the same methods), so tests inject their own.
"""

import asyncio
import json
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from aiohttp import web
from eth_utils import to_checksum_address

from greenminer.protocol import COUNTERS, EPOCH_SECONDS, HEALTH_FIELDS, MAX_BPS, MAX_READINGS, UINT64_MAX, UINT128_MAX
from offchain.index import store
from offchain.protocol.batch import (
    UINT256_MAX,
    Batch,
    as_hex,
    digest_of,
    epoch_bounds,
    meets_target,
    pack_reading,
    recover_signer,
    split_signature,
    unpack_reading,
)
from offchain.protocol.health import health_hash
from offchain.views import call_view

log = logging.getLogger(__name__)

ACTIVE = 1  # MinerSBT hardware status
MW_PER_W = 1_000
MAX_BATCHES_PER_REQUEST = 64  # the registry's submit_many bound
RELAY_CHUNK = 50  # batches per submit_many transaction
MAX_ATTEMPTS = 3  # reverted submissions before a batch is marked failed
MAX_BODY = 256 * 1024  # bytes
DEFAULT_PORT = 8787
FIELDS = ("device", "epoch", "seq", "readings", "prev_batch", "pow_nonce", "signature")
HEALTH = "health"  # the optional field of a posted batch that holds its health report
HEALTH_KEYS = HEALTH_FIELDS + ("signature",)
# counters that grow when something went wrong (batches_built and batches_accepted grow by themselves)
FAULTS = tuple(name for name in COUNTERS if name not in ("batches_built", "batches_accepted"))

_HEX = re.compile(r"0x[0-9a-fA-F]*\Z")


class Refusal(Exception):
    """A request the gateway refuses: HTTP ``status`` and a one-line ``reason``."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Health(NamedTuple):
    """A device's health report as posted: ``{name: int}`` for ``HEALTH_FIELDS`` and its signature."""

    values: dict
    signature: bytes  # 65 bytes r ‖ s ‖ v, EIP-191 over the values and the batch's digest

    def to_json(self):
        return {**self.values, "signature": "0x" + bytes(self.signature).hex()}


class Submission(NamedTuple):
    """What one ``submit_many`` transaction did."""

    tx_hash: str
    accepted: set  # batch digests (bytes)
    skipped: dict  # (device, seq) -> reason


# ----------------------------------------------------------------- settings


def read_port():
    """The gateway's TCP port from the environment: ``GEM_GATEWAY_PORT``, default 8787."""
    return int(os.environ.get("GEM_GATEWAY_PORT", DEFAULT_PORT))


# ----------------------------------------------------------------- decoding


def _parse_hex(value, n_bytes, field):
    if not isinstance(value, str) or not _HEX.match(value) or len(value) != 2 + 2 * n_bytes:
        raise Refusal(400, f"{field}: expected 0x and {2 * n_bytes} hex digits")
    return bytes.fromhex(value[2:])


def _parse_uint(value, maximum, field):
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refusal(400, f"{field}: expected an integer")
    if not 0 <= value <= maximum:
        raise Refusal(400, f"{field}: out of range")
    return value


def _parse_device(value, field="device"):
    raw = _parse_hex(value, 20, field)
    checksummed = to_checksum_address(raw)
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise Refusal(400, f"{field}: bad checksum")
    return checksummed


def _check_fields(obj, fields, what, where):
    """Refuse ``obj`` (named ``what``) unless it is an object with exactly ``fields``, each named ``where`` + field."""
    if not isinstance(obj, dict):
        raise Refusal(400, f"{what}: expected an object")
    for name in fields:
        if name not in obj:
            raise Refusal(400, f"{where}{name}: missing")
    for name in obj:
        if name not in fields:
            raise Refusal(400, f"{where}{str(name)[:40]}: unknown field")


def _parse_batch(obj, where=""):
    """
    Decode one batch object as ``docs/protocol.md`` fixes it.

    Returns
    -------
    Batch
        With packed readings.

    Raises
    ------
    Refusal
        400 with the offending field.
    """
    _check_fields(obj, FIELDS, where or "batch", where)
    device = _parse_device(obj["device"], f"{where}device")
    epoch = _parse_uint(obj["epoch"], UINT64_MAX, f"{where}epoch")
    seq = _parse_uint(obj["seq"], UINT64_MAX, f"{where}seq")
    readings = obj["readings"]
    if not isinstance(readings, list) or not 1 <= len(readings) <= MAX_READINGS:
        raise Refusal(400, f"{where}readings: expected 1 to {MAX_READINGS} [timestamp, power, total] triples")
    packed = []
    for i, triple in enumerate(readings):
        field = f"{where}readings[{i}]"
        if not isinstance(triple, list) or len(triple) != 3:
            raise Refusal(400, f"{field}: expected [timestamp s, power mW, total mWh]")
        ts = _parse_uint(triple[0], UINT64_MAX, f"{field} timestamp")
        power = _parse_uint(triple[1], UINT64_MAX, f"{field} power")
        total = _parse_uint(triple[2], UINT128_MAX, f"{field} total")
        packed.append(pack_reading(ts, power, total))
    prev_batch = _parse_hex(obj["prev_batch"], 32, f"{where}prev_batch")
    pow_nonce = _parse_uint(obj["pow_nonce"], UINT256_MAX, f"{where}pow_nonce")
    signature = _parse_hex(obj["signature"], 65, f"{where}signature")
    return Batch(device, epoch, seq, tuple(packed), prev_batch, pow_nonce, signature)


def _parse_health(obj, where=""):
    """
    Decode a health report: exactly ``HEALTH_FIELDS`` (integers 0 to 2**64 - 1) and ``signature``.

    Raises
    ------
    Refusal
        400 with the offending field (``health.<name>``).
    """
    _check_fields(obj, HEALTH_KEYS, f"{where}{HEALTH}", f"{where}{HEALTH}.")
    values = {name: _parse_uint(obj[name], UINT64_MAX, f"{where}{HEALTH}.{name}") for name in HEALTH_FIELDS}
    return Health(values, _parse_hex(obj["signature"], 65, f"{where}{HEALTH}.signature"))


def _parse_posted(obj, where=""):
    """A posted batch object: its :class:`Batch` and its :class:`Health` (``None`` when it has none)."""
    if not isinstance(obj, dict) or HEALTH not in obj:
        return _parse_batch(obj, where), None
    batch = _parse_batch({k: v for k, v in obj.items() if k != HEALTH}, where)
    return batch, _parse_health(obj[HEALTH], where)


def _parse_request(body):
    """
    Decode a ``POST /batches`` body: one batch object or ``{"batches": [...]}``, each with an optional health report.

    Returns
    -------
    (list of Batch, list of Health or None, bool)
        The batches, their health reports and whether the body held a single object.
    """
    try:
        doc = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refusal(400, "body is not valid JSON") from None
    if isinstance(doc, dict) and "batches" in doc:
        if set(doc) != {"batches"}:
            raise Refusal(400, "expected only the field batches next to batches")
        items = doc["batches"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCHES_PER_REQUEST:
            raise Refusal(400, f"batches: expected a list of 1 to {MAX_BATCHES_PER_REQUEST} batches")
        parsed = [_parse_posted(item, f"batches[{i}].") for i, item in enumerate(items)]
        return [batch for batch, _ in parsed], [health for _, health in parsed], False
    if not isinstance(doc, dict):
        raise Refusal(400, "expected a batch object or {\"batches\": [...]}")
    batch, health = _parse_posted(doc)
    return [batch], [health], True


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def batch_to_json(batch):
    """The protocol's JSON object of a batch (readings unpacked into triples)."""
    return {
        "device": batch.device,
        "epoch": batch.epoch,
        "seq": batch.seq,
        "readings": [list(unpack_reading(r)) for r in batch.readings],
        "prev_batch": "0x" + bytes(batch.prev_batch).hex(),
        "pow_nonce": batch.pow_nonce,
        "signature": "0x" + bytes(batch.signature).hex(),
    }


def _where(single, i):
    return "" if single else f"batches[{i}]."


# ----------------------------------------------------------------- checks


def check_readings(batch, genesis, where=""):
    """
    Refuse readings that cannot pass the registry on their own: timestamps strictly
    increasing and inside the batch's epoch, totals non-decreasing.
    """
    start, stop = epoch_bounds(genesis, batch.epoch)
    previous = None
    for i, packed in enumerate(batch.readings):
        reading = unpack_reading(packed)
        if not start <= reading.ts < stop:
            raise Refusal(400, f"{where}readings[{i}]: timestamp outside epoch {batch.epoch}")
        if previous is not None:
            if reading.ts <= previous.ts:
                raise Refusal(400, f"{where}readings[{i}]: timestamps must increase")
            if reading.total_mwh < previous.total_mwh:
                raise Refusal(400, f"{where}readings[{i}]: total decreases")
        previous = reading


def _check_signer(digest, signature, device, field):
    signer = recover_signer(digest, signature)
    if signer is None:
        raise Refusal(403, f"{field}: invalid")
    if signer != device:
        raise Refusal(403, f"{field}: not signed by device")


def check_signature(batch, digest, where=""):
    """Refuse a signature that does not recover to the batch's device."""
    _check_signer(digest, batch.signature, batch.device, f"{where}signature")


def check_health(health, batch, digest, where=""):
    """Refuse a health report that the batch's device did not sign for this batch (``digest``)."""
    _check_signer(health_hash(digest, health.values), health.signature, batch.device, f"{where}{HEALTH}.signature")


def check_continues(batch, expected, genesis, capacity_w, margin_bps, where=""):
    """
    Refuse a batch that does not continue the device's last known batch, as the registry
    would: seq, prev_batch, one batch per epoch, timestamps and totals going on from the
    last reading, energy and power within the declared capacity times the margin.

    Parameters
    ----------
    expected : (next_seq, prev_hash, last_ts [s], last_total [mWh])
        From the chain (``registry.device_check``: the enrollment's time and total before
        the device's first batch), or from the device's newest pending batch in the queue.
    genesis : int [s]
    capacity_w : int [W]
    margin_bps : int [bps]
    """
    next_seq, prev_hash, last_ts, last_total = expected
    if batch.seq < next_seq:
        raise Refusal(409, f"{where}seq: {batch.seq} already used, next is {next_seq}")
    if batch.seq > next_seq:
        raise Refusal(409, f"{where}seq: {batch.seq} skips ahead, next is {next_seq}")
    if bytes(batch.prev_batch) != bytes(prev_hash):
        raise Refusal(409, f"{where}prev_batch: does not continue the device's last batch")
    # before the first batch, last_ts and last_total are the device's enrollment (the registry's)
    if next_seq != 0 and batch.epoch <= (last_ts - genesis) // EPOCH_SECONDS:
        raise Refusal(409, f"{where}epoch: the device already has a batch for epoch {batch.epoch} or later")
    limit = capacity_w * MW_PER_W * margin_bps  # [mW · bps]
    for i, packed in enumerate(batch.readings):
        reading = unpack_reading(packed)
        if reading.ts <= last_ts:
            raise Refusal(409, f"{where}readings[{i}]: timestamp not after the device's last reading")
        if reading.total_mwh < last_total:
            raise Refusal(409, f"{where}readings[{i}]: total below the device's last total")
        # energy [mWh] · 3 600 [s/h] · 10 000 [bps] <= capacity [mW] · margin [bps] · time [s]
        if (reading.total_mwh - last_total) * EPOCH_SECONDS * MAX_BPS > limit * (reading.ts - last_ts):
            raise Refusal(400, f"{where}readings[{i}]: total grows faster than the capacity allows")
        if reading.power_mw * MAX_BPS > limit:
            raise Refusal(400, f"{where}readings[{i}]: power above the device's capacity")
        last_ts, last_total = reading.ts, reading.total_mwh


def check_batches(batches, healths, single, separator, genesis, target):
    """
    The checks that need no chain state, for each batch: readings, proof of work, signature,
    and its health report's signature when it has one.

    Returns
    -------
    list of bytes
        The batches' digests.
    """
    digests = []
    for i, (batch, health) in enumerate(zip(batches, healths)):
        where = _where(single, i)
        check_readings(batch, genesis, where)
        digest = digest_of(separator, batch)
        if not meets_target(digest, batch.pow_nonce, target):
            raise Refusal(400, f"{where}pow_nonce: does not meet the target")
        check_signature(batch, digest, where)
        if health is not None:
            check_health(health, batch, digest, where)
        digests.append(digest)
    return digests


def grown(report, previous):
    """The ``FAULTS`` higher in ``report`` than in ``previous`` (``{name: int}`` each); none without ``previous``."""
    if previous is None:
        return []
    return [name for name in FAULTS if report[name] > previous[name]]


def device_reports(conn, device=None):
    """
    The devices' latest health reports as JSON objects (``GET /devices``, ``ape run gateway devices``).

    Returns
    -------
    list of dict
        By device: ``device``, ``seq`` and ``epoch`` of the batch the report came with, ``batch_hash``
        (the report's signature covers it), ``received_at`` [s], ``health`` (as the device sent it),
        ``previous`` (``{"seq", "health"}`` of the report before it, or ``None``) and ``grown`` (the
        ``FAULTS`` higher than in ``previous``).
    """
    return [{
        "device": r.device,
        "seq": r.seq,
        "epoch": r.epoch,
        "batch_hash": r.batch_hash,
        "received_at": r.received_at,
        "health": r.report,
        "previous": None if r.prev_report is None else {"seq": r.prev_seq, "health": r.prev_report},
        "grown": grown(r.report, r.prev_report),
    } for r in store.read_health(conn, device)]


def _after(batch, digest):
    last = unpack_reading(batch.readings[-1])
    return batch.seq + 1, digest, last.ts, last.total_mwh


# ----------------------------------------------------------------- chain (ape)


def _struct(components, batch):
    """The registry's SignedBatch tuple, in the ABI's component order."""
    v, r, s = split_signature(batch.signature)
    values = {
        "device": batch.device,
        "epoch": batch.epoch,
        "seq": batch.seq,
        "prev_batch": bytes(batch.prev_batch),
        "pow_nonce": batch.pow_nonce,
        "readings": list(batch.readings),
        "v": v,
        "r": r.to_bytes(32, "big"),
        "s": s.to_bytes(32, "big"),
    }
    return tuple(values[c.name] for c in components)


def get_device_check(registry, device):
    """A device's ``(token_id, capacity_w [W], status)`` on the MinerSBT and ``(last_total [mWh], last_ts [s],
    next_seq, last_batch_hash)`` on the registry, read in one call (``MeasurementRegistry.device_check``)."""
    token_id, capacity_w, status, last_total, last_ts, next_seq, last_hash = call_view(registry, "device_check", device)
    return (int(token_id), int(capacity_w), int(status)), (int(last_total), int(last_ts), int(next_seq), bytes(last_hash))


def get_accepted(registry, device, start_block=0):
    """``{batch digest: tx hash}`` of a device's accepted batches, from the registry's events."""
    head = registry.chain_manager.blocks.height
    if start_block > head:
        return {}
    logs = registry.BatchAccepted.range(start_block, head + 1, search_topics={"device": device})
    return {bytes(ev.batch_hash): as_hex(ev.transaction_hash) for ev in logs}


def send_batches(registry, sender, batches):
    """
    Send batches in one ``submit_many`` transaction.

    Returns
    -------
    Submission
        The transaction hash, the digests the registry accepted and the reasons of
        those it skipped.
    """
    components = registry.submit_many.abis[0].inputs[0].components
    receipt = registry.submit_many([_struct(components, b) for b in batches], sender=sender)
    accepted = {bytes(ev.batch_hash) for ev in receipt.decode_logs(registry.BatchAccepted)}
    skipped = {
        (to_checksum_address(ev.device), int(ev.seq)): str(ev.reason)
        for ev in receipt.decode_logs(registry.BatchSkipped)
    }
    return Submission(as_hex(receipt.txn_hash), accepted, skipped)



class ApeRegistry:
    """
    Registry client on ape contract instances: what the gateway needs from the chain.

    Parameters
    ----------
    registry : ape ContractInstance
        The MeasurementRegistry (it answers for the MinerSBT too: ``device_check``).
    sender : ape AccountAPI
        The account that pays for ``submit_many``.
    start_block : int
        Block to search events from (the registry's deployment).
    """

    def __init__(self, registry, sender, start_block=0):
        self.registry, self.sender, self.start_block = registry, sender, start_block
        self._limits = None  # (block, PoW target, capacity margin [bps])

    def domain_separator(self):
        return bytes(self.registry.domain_separator())

    def genesis(self):
        return int(self.registry.genesis())

    def pow_target(self):
        return self._limits_at_head()[0]

    def capacity_margin_bps(self):
        return self._limits_at_head()[1]

    def _limits_at_head(self):
        """The registry's PoW target and power margin, read again only when the head block changed: a
        request is checked against both, and a ballot that changes them does so in a block of its own."""
        head = self.registry.provider.web3.eth.block_number
        if self._limits is None or self._limits[0] != head:
            self._limits = (head, call_view(self.registry, "pow_target"), call_view(self.registry, "capacity_margin_bps"))
        return self._limits[1:]

    def device_check(self, device):
        return get_device_check(self.registry, device)

    def submit_many(self, batches):
        return send_batches(self.registry, self.sender, batches)

    def accepted(self, device):
        return get_accepted(self.registry, device, self.start_block)


# ----------------------------------------------------------------- gateway


class Gateway:
    """
    The HTTP gateway and its relay, over a store connection and a registry client.

    Parameters
    ----------
    conn : sqlite3.Connection
        From :func:`offchain.index.store.open_store`; the queue lives there.
    chain : registry client
        :class:`ApeRegistry` or an object with the same methods.
    chunk : int
        Batches per ``submit_many`` (at most 50).
    interval : float
        Seconds between relay rounds when the queue is empty [s].
    """

    def __init__(self, conn, chain, chunk=RELAY_CHUNK, interval=2.0):
        if not 1 <= chunk <= RELAY_CHUNK:
            raise ValueError(f"gateway: chunk must be 1..{RELAY_CHUNK}")
        self.conn, self.chain, self.chunk, self.interval = conn, chain, chunk, interval
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-chain")
        self._lock = None
        self._constants = None

    # chain calls run one at a time on their own thread, off the event loop
    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _chain_constants(self):
        if self._constants is None:
            separator = await self._call(self.chain.domain_separator)
            genesis = await self._call(self.chain.genesis)
            self._constants = (bytes(separator), int(genesis))
        return self._constants

    # --------------------------------------------------------- accepting

    async def accept(self, body):
        """
        Validate a ``POST /batches`` body and queue its new batches.

        Returns
        -------
        (list of dict, bool)
            Per batch ``{"digest", "status"}`` (with ``"duplicate": true`` for one already
            queued, which is not queued again), and whether the body held one batch.

        Raises
        ------
        Refusal
            On the first batch that fails a check; nothing of the request is queued.
        """
        batches, healths, single = _parse_request(body)
        separator, genesis = await self._chain_constants()
        target = int(await self._call(self.chain.pow_target))
        margin_bps = int(await self._call(self.chain.capacity_margin_bps))
        # signature recovery is pure Python (about 10 ms): off the event loop
        digests = await asyncio.to_thread(check_batches, batches, healths, single, separator, genesis, target)
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        async with self._lock[1]:  # one request at a time from here: sequences stay consistent
            return await self._queue(batches, healths, digests, single, genesis, margin_bps), single

    async def _queue(self, batches, healths, digests, single, genesis, margin_bps):
        results, fresh, reports, expected, info = [], [], [], {}, {}
        for i, (batch, health, digest) in enumerate(zip(batches, healths, digests)):
            where = _where(single, i)
            hex_digest = "0x" + digest.hex()
            if health is not None:  # kept with the batch, or with its duplicate (a device retrying)
                reports.append((batch.device, batch.seq, batch.epoch, hex_digest, health.to_json()))
            known = store.read_queued(self.conn, hex_digest)
            if known is not None:  # a device retrying: answer, queue nothing
                results.append({"digest": hex_digest, "status": known.status, "duplicate": True})
                continue
            if batch.device not in info:
                info[batch.device], expected[batch.device] = await self._check_device(batch.device)
            token_id, capacity_w, status = info[batch.device]
            if int(token_id) == 0:
                raise Refusal(403, f"{where}device: unknown to the SBT")
            if int(status) != ACTIVE:
                raise Refusal(403, f"{where}device: not active")
            check_continues(batch, expected[batch.device], genesis, int(capacity_w), margin_bps, where)
            expected[batch.device] = _after(batch, digest)
            fresh.append((hex_digest, batch.device, batch.epoch, batch.seq, batch_to_json(batch)))
            results.append({"digest": hex_digest, "status": "pending"})
        if fresh or reports:
            store.write_queued(self.conn, fresh, reports)
        return results

    async def _check_device(self, device):
        """The device's ``(token_id, capacity_w, status)``, and what its next batch must continue: its newest
        pending batch, else the chain's state (one call for both)."""
        # the queue before the chain: a relay round in between then shows as chain state
        tail = store.read_queue_tail(self.conn, device)
        info, (last_total, last_ts, next_seq, last_hash) = await self._call(self.chain.device_check, device)
        if tail is not None and tail.seq >= next_seq:
            ts, _, total = tail.body["readings"][-1]
            return info, (tail.seq + 1, bytes.fromhex(tail.batch_hash[2:]), ts, total)
        return info, (int(next_seq), bytes(last_hash), int(last_ts), int(last_total))

    # --------------------------------------------------------- relaying

    async def relay_once(self):
        """
        Send up to ``chunk`` pending batches in one ``submit_many`` and record the outcomes.

        Returns
        -------
        int
            Number of batches whose outcome was recorded.
        """
        pending = store.read_queue(self.conn, "pending", limit=self.chunk)
        if not pending:
            return 0
        try:
            return await self._relay(pending)
        except Exception as exc:  # the transaction reverted or the node failed
            if len(pending) > 1:
                log.warning("relay: submit_many of %d batches failed (%s); sending one by one", len(pending), exc)
                done = 0
                for entry in pending:
                    done += await self._relay_alone(entry)
                return done
            return await self._relay_alone(pending[0], exc)

    async def _relay_alone(self, entry, exc=None):
        if exc is None:
            try:
                return await self._relay([entry])
            except Exception as error:  # noqa: BLE001 - recorded on the batch
                exc = error
        reason = _one_line(exc)
        store.write_attempt(self.conn, [entry.batch_hash], reason)
        if entry.attempts + 1 >= MAX_ATTEMPTS:
            store.write_outcomes(self.conn, [store.Outcome(entry.batch_hash, "failed", reason)])
            return 1
        return 0

    async def _relay(self, entries):
        batches = [_parse_batch(e.body) for e in entries]
        result = await self._call(self.chain.submit_many, batches)
        accepted = {"0x" + bytes(d).hex() for d in result.accepted}
        outcomes, resent = [], []
        for entry, batch in zip(entries, batches):
            if entry.batch_hash in accepted:
                outcomes.append(store.Outcome(entry.batch_hash, "accepted", None, result.tx_hash))
            elif (batch.device, batch.seq) in result.skipped:
                resent.append((entry, result.skipped[(batch.device, batch.seq)]))
            else:
                outcomes.append(store.Outcome(entry.batch_hash, "failed", "registry: no event for batch"))
        # A skipped batch may have been accepted by an earlier transaction whose outcome a
        # crash kept us from recording: look for it on chain before calling it skipped.
        on_chain = {}
        for device in {e.device for e, _ in resent}:
            found = await self._call(self.chain.accepted, device)
            on_chain.update({"0x" + bytes(d).hex(): tx for d, tx in found.items()})
        for entry, reason in resent:
            if entry.batch_hash in on_chain:
                outcomes.append(store.Outcome(entry.batch_hash, "accepted", None, on_chain[entry.batch_hash]))
            else:
                outcomes.append(store.Outcome(entry.batch_hash, "skipped", reason, result.tx_hash))
        store.write_outcomes(self.conn, outcomes)
        return len(outcomes)

    async def relay_all(self):
        """Relay until no batch is pending (or a round records nothing); returns the count recorded."""
        total = 0
        while True:
            done = await self.relay_once()
            total += done
            if done == 0 or not store.read_queue(self.conn, "pending", limit=1):
                return total

    async def _relay_forever(self):
        while True:
            try:
                done = await self.relay_once()
            except Exception:  # keep relaying; the batches stay pending
                log.exception("relay round failed")
                done = 0
            if done == 0:
                await asyncio.sleep(self.interval)

    # --------------------------------------------------------- HTTP

    def app(self, relay=True):
        """
        The aiohttp application.

        Parameters
        ----------
        relay : bool
            Run the relay as a background task while the application runs.
        """
        app = web.Application(middlewares=[_json_errors], client_max_size=MAX_BODY)
        app.router.add_post("/batches", self._post_batches)
        app.router.add_get("/batches/{digest}", self._get_batch)
        app.router.add_get("/health", self._get_health)
        app.router.add_get("/devices", self._get_devices)
        app.router.add_get("/devices/{device}", self._get_device)
        if relay:
            app.cleanup_ctx.append(self._relay_context)
        return app

    async def _relay_context(self, app):
        task = asyncio.get_running_loop().create_task(self._relay_forever())
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def _post_batches(self, request):
        results, single = await self.accept(await request.read())
        status = 200 if all(r.get("duplicate") for r in results) else 202
        return web.json_response(results[0] if single else {"batches": results}, status=status)

    async def _get_batch(self, request):
        digest = request.match_info["digest"]
        _parse_hex(digest, 32, "digest")
        entry = store.read_queued(self.conn, digest.lower())
        if entry is None:
            raise Refusal(404, "unknown batch")
        return web.json_response({
            "digest": entry.batch_hash,
            "device": entry.device,
            "epoch": entry.epoch,
            "seq": entry.seq,
            "status": entry.status,
            "reason": entry.reason,
            "tx_hash": entry.tx_hash,
        })

    async def _get_health(self, request):
        return web.json_response({"ok": True, "queue": store.read_queue_counts(self.conn)})

    async def _get_devices(self, request):
        return web.json_response({"devices": device_reports(self.conn)})

    async def _get_device(self, request):
        reports = device_reports(self.conn, _parse_device(request.match_info["device"]))
        if not reports:
            raise Refusal(404, "no health report from this device")
        return web.json_response(reports[0])

    def close(self):
        """Stop the chain-call thread."""
        self._executor.shutdown(wait=True)


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


@web.middleware
async def _json_errors(request, handler):
    """Every error as ``{"error": "..."}``, never a traceback."""
    try:
        return await handler(request)
    except Refusal as refusal:
        return web.json_response({"error": refusal.reason}, status=refusal.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"error": exc.reason.lower()}, status=exc.status)
    except Exception:
        log.exception("gateway: internal error")
        return web.json_response({"error": "internal error"}, status=500)


async def start(gateway, host="127.0.0.1", port=None, relay=True):
    """
    Start serving the gateway (and its relay).

    Parameters
    ----------
    gateway : Gateway
    host : str
        Loopback by default; put a reverse proxy in front to expose it.
    port : int, optional
        Default :func:`read_port`; 0 picks a free port.

    Returns
    -------
    aiohttp.web.AppRunner
        ``runner.addresses`` are the bound ``(host, port)``; ``await runner.cleanup()`` stops.
    """
    runner = web.AppRunner(gateway.app(relay=relay))
    await runner.setup()
    site = web.TCPSite(runner, host, read_port() if port is None else port)
    await site.start()
    log.info("gateway listening on %s", ", ".join(str(a) for a in runner.addresses))
    return runner


async def serve(gateway, host="127.0.0.1", port=None, relay=True):
    """Run the gateway until cancelled (see :func:`start`)."""
    runner = await start(gateway, host, port, relay)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
