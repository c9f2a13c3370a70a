# pragma version ~=0.4.3
"""
@title NaiveRegistry: gas baseline for MeasurementRegistry (bench only)
@license MIT
@notice The same batch, signature, checks and event as MeasurementRegistry,
        written the obvious way: every reading, the device's last total,
        timestamp, seq and batch hash, and each epoch's legal count in their
        own storage slots, parameters unpacked, and one SBT mining record
        per batch. Not part of the system: bench/test_gas_registry.py
        deploys it to show what the packed layout saves.
@custom:security Not reviewed for use; a bad batch in submit_many reverts
        the whole call.
"""

from snekmate.utils import eip712_domain_separator as eip712
from snekmate.utils import ecdsa

initializes: eip712


interface IMinerSBT:
    def device_info(device: address) -> (uint256, uint32, uint8): view
    def record_mining(token_id: uint256, online_hours: uint64, hashes: uint256): nonpayable


event BatchAccepted:
    device: indexed(address)
    token_id: indexed(uint256)
    epoch: indexed(uint64)
    seq: uint64
    batch_hash: bytes32
    prev_batch: bytes32
    pow_nonce: uint256
    signature: Bytes[65]
    readings: DynArray[uint256, 16]


struct SignedBatch:
    device: address
    epoch: uint64
    seq: uint64
    prev_batch: bytes32
    pow_nonce: uint256
    readings: DynArray[uint256, 16]
    v: uint8
    r: bytes32
    s: bytes32


BATCH_TYPEHASH: constant(bytes32) = keccak256(
    "Batch(address device,uint64 epoch,uint64 seq,bytes32 readingsHash,bytes32 prevBatch,uint256 powNonce)"
)

sbt: public(address)
genesis: public(uint256)
pow_target: public(uint256)
capacity_margin_bps: public(uint256)
grace_period: public(uint256)
closed: public(HashMap[uint256, bool])

last_total: public(HashMap[address, uint256])
last_ts: public(HashMap[address, uint256])
next_seq: public(HashMap[address, uint256])
last_hash: public(HashMap[address, bytes32])
last_epoch: public(HashMap[address, uint256])
legal_count: public(HashMap[address, HashMap[uint256, uint256]])
readings: public(HashMap[address, HashMap[uint256, DynArray[uint256, 16]]])


@deploy
def __init__(sbt: address, genesis: uint64, pow_target: uint256, capacity_margin_bps: uint256, grace_period: uint256):
    eip712.__init__("GreenEnergyMiners", "1")
    self.sbt = sbt
    self.genesis = convert(genesis, uint256)
    self.pow_target = pow_target
    self.capacity_margin_bps = capacity_margin_bps
    self.grace_period = grace_period


@external
def submit(b: SignedBatch) -> bytes32:
    return self._submit(b)


@external
def submit_many(batches: DynArray[SignedBatch, 64]) -> uint256:
    for b: SignedBatch in batches:
        self._submit(b)
    return len(batches)


@internal
def _submit(b: SignedBatch) -> bytes32:
    token_id: uint256 = 0
    capacity_w: uint32 = 0
    status: uint8 = 0
    token_id, capacity_w, status = staticcall IMinerSBT(self.sbt).device_info(b.device)
    assert token_id != 0, "naive: unknown device"
    assert status == 1, "naive: device not active"

    readings_hash: bytes32 = keccak256(slice(abi_encode(b.readings, ensure_tuple=False), 32, 32 * len(b.readings)))
    digest: bytes32 = eip712._hash_typed_data_v4(
        keccak256(abi_encode(BATCH_TYPEHASH, b.device, b.epoch, b.seq, readings_hash, b.prev_batch, b.pow_nonce))
    )
    signer: address = ecdsa._recover_vrs(digest, convert(b.v, uint256), convert(b.r, uint256), convert(b.s, uint256))
    assert signer == b.device, "naive: bad signature"
    assert convert(b.seq, uint256) == self.next_seq[b.device], "naive: bad seq"
    assert b.prev_batch == self.last_hash[b.device], "naive: bad prev batch"

    e: uint256 = convert(b.epoch, uint256)
    start: uint256 = self.genesis + e * 3600
    end: uint256 = start + 3600
    assert block.timestamp >= end, "naive: epoch not over"
    assert block.timestamp < end + self.grace_period and not self.closed[e], "naive: epoch closed"
    if self.next_seq[b.device] > 0:
        assert e > self.last_epoch[b.device], "naive: stale epoch"
    assert len(b.readings) > 0 and len(b.readings) <= 12, "naive: bad readings count"

    prev_ts: uint256 = self.last_ts[b.device]
    prev_total: uint256 = self.last_total[b.device]
    if self.next_seq[b.device] == 0:
        prev_ts = self.genesis - 1
    limit: uint256 = convert(capacity_w, uint256) * 1000 * self.capacity_margin_bps
    for r: uint256 in b.readings:
        ts: uint256 = r >> 192
        power: uint256 = (r >> 128) & (2**64 - 1)
        total: uint256 = r & (2**128 - 1)
        assert ts >= start and ts < end, "naive: timestamp outside epoch"
        assert ts > prev_ts, "naive: timestamps not increasing"
        assert total >= prev_total, "naive: total decreasing"
        assert (total - prev_total) * 36_000_000 <= limit * (ts - prev_ts), "naive: total jump"
        assert power * 10_000 <= limit, "naive: power above capacity"
        prev_ts = ts
        prev_total = total
    assert convert(keccak256(concat(digest, convert(b.pow_nonce, bytes32))), uint256) < self.pow_target, "naive: weak proof of work"

    self.last_total[b.device] = prev_total
    self.last_ts[b.device] = prev_ts
    self.next_seq[b.device] += 1
    self.last_hash[b.device] = digest
    self.last_epoch[b.device] = e
    self.legal_count[b.device][e] = len(b.readings)
    self.readings[b.device][e] = b.readings
    log BatchAccepted(
        device=b.device,
        token_id=token_id,
        epoch=b.epoch,
        seq=b.seq,
        batch_hash=digest,
        prev_batch=b.prev_batch,
        pow_nonce=b.pow_nonce,
        signature=concat(b.r, b.s, convert(b.v, bytes1)),
        readings=b.readings,
    )
    extcall IMinerSBT(self.sbt).record_mining(token_id, 1, max_value(uint256) // self.pow_target)
    return digest
