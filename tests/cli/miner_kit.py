"""The world of the miner and node command tests: device and meter keys, the files they sign (with the
device library, ``greenminer``, as a board would), ballots run through by moving the clock, and the
market moves (admit, register a node, deliver, pay, request energy) a test needs before its command."""

import json

from cli_kit import address_of

from greenminer import batch as device_batch
from greenminer import enroll as device_enroll
from greenminer import meter as device_meter
from offchain.governance import call
from offchain.protocol.batch import split_signature
from offchain.protocol.enroll import send_application
from testbed import simulator
from testbed.localchain import advance, pass_proposal

SENT, RECEIVED, DELIVERED_OUT = device_meter.SENT, device_meter.RECEIVED, device_meter.DELIVERED_OUT
CAPACITY_W = 4_200
LAT_UDEG, LON_UDEG = 39_742_000, -105_178_000
NODE_CAPACITY_MWH = 50_000_000  # 50 kWh
HOUR = 3_600


def device_key(i):
    """Device ``i``'s private key [int] (the simulator's deterministic keys)."""
    return simulator.device_key("cli-devices", i)


def meter_key(j):
    """Node meter ``j``'s private key [int]."""
    return simulator.device_key("cli-meters", j)


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


class World:
    """One test module's deployment, its DAO members and a folder for the signed files."""

    def __init__(self, chain, system, members, folder):
        self.chain, self.system, self.members, self.folder = chain, system, members, folder
        self.files = 0

    def path(self, stem):
        self.files += 1
        return self.folder / f"{stem}-{self.files}.json"

    def now(self):
        return self.chain.blocks.head.timestamp

    def wait(self, seconds):
        advance(self.chain, seconds)

    def wait_until(self, ts):
        """Move the clock to ``ts`` [s] (never back) and mine a block there."""
        advance(self.chain, max(0, ts - self.chain.pending_timestamp))

    # ----------------------------------------------------------- device files
    def enrollment(self, priv, applicant, start_total=0, start_time=None, chain_id=None, sbt=None):
        """The device's enrollment.json, signed by ``greenminer.enroll`` for ``applicant``."""
        signed = device_enroll.sign_enrollment(
            priv, self.chain.chain_id if chain_id is None else chain_id, sbt or self.system.sbt.address,
            applicant.address, start_total, self.now() if start_time is None else start_time)
        return write_json(self.path("enrollment"), signed)

    def statement(self, priv, node, id_, party, start, end, energy_mwh, kind):
        """A meter statement file signed by ``greenminer.meter`` with ``priv``."""
        signed = device_meter.sign_statement(priv, self.chain.chain_id, self.system.storage.address, node, id_,
                                             party, start, end, energy_mwh, kind)
        return write_json(self.path(device_meter_kind(kind)), signed)

    def delivery_files(self, device_priv, node, delivery_id, sent, received, start=None, end=None, meter_priv=None):
        """(sent.json by the device, received.json by the node's meter) for one delivery; the period
        ends a minute before the latest block, an hour long unless given."""
        end = self.now() - 60 if end is None else end
        start = end - HOUR if start is None else start
        device = address_of(device_priv)
        meter_priv = meter_key(node - 1) if meter_priv is None else meter_priv
        return (self.statement(device_priv, node, delivery_id, device, start, end, sent, SENT),
                self.statement(meter_priv, node, delivery_id, device, start, end, received, RECEIVED))

    # ----------------------------------------------------------------- ballots
    def ballot(self, *calls, description="test ballot"):
        receipt = pass_proposal(self.chain, self.system.dao, self.members, list(calls), description)
        assert receipt is not None, "the ballot did not pass"
        return receipt

    def carry(self, proposal_id):
        """Vote an existing proposal through with every member, queue and execute it (moving the clock)."""
        dao = self.system.dao
        self.wait(dao.voting_delay() + 1)
        for member in self.members:
            dao.cast_vote(proposal_id, 1, sender=member)
        self.wait(dao.voting_period() + 1)
        dao.queue(proposal_id, sender=self.members[0])
        self.wait(dao.timelock_delay() + 1)
        return dao.execute(proposal_id, sender=self.members[0])

    def admit(self, wallet, priv):
        """Apply with the device key as ``wallet`` and pass a ballot approving it; returns the token id."""
        sbt = self.system.sbt
        send_application(self.chain, sbt, wallet, priv, CAPACITY_W, LAT_UDEG, LON_UDEG, "ipfs://cli-miner")
        self.ballot(call(sbt.approve_application, sbt.application_count()), description="admit a miner")
        return sbt.token_of_device(address_of(priv))

    def register_node(self, meter_priv, capacity_mwh=NODE_CAPACITY_MWH):
        """A node registered by ballot; returns its id."""
        storage = self.system.storage
        self.ballot(call(storage.register_node, address_of(meter_priv), capacity_mwh, 39_740_000, -105_170_000),
                    description="register a storage node")
        return storage.node_count()

    # ------------------------------------------------------------------ market
    def deliver(self, wallet, device_priv, node, delivery_id, sent, received):
        """Record a delivery straight on the contract; returns its key."""
        storage = self.system.storage
        end = self.now() - 60
        device = address_of(device_priv)
        sigs = [bytes.fromhex(device_meter.sign_statement(
            p, self.chain.chain_id, storage.address, node, delivery_id, device, end - HOUR, end, e, k)["signature"][2:])
            for p, e, k in ((device_priv, sent, SENT), (meter_key(node - 1), received, RECEIVED))]
        tx = storage.record_delivery(node, delivery_id, device, end - HOUR, end, sent, sigs[0], received, sigs[1],
                                     sender=wallet)
        return tx.decode_logs(storage.Delivered)[0].key

    def request_payment(self, wallet, token, keys):
        desk, end = self.system.desk, self.now()
        tx = desk.request_payment(token, end - 30 * 86_400, end, keys, sender=wallet)
        return tx.decode_logs(desk.PaymentRequested)[0].request_id

    def approve_payment(self, request_id):
        desk = self.system.desk
        self.ballot(call(desk.approve, request_id, desk.review(request_id).price), description="pay a miner")

    def request_energy(self, buyer, node, amount_mwh, hours=6):
        """``buyer`` escrows ENERGY for energy out of ``node``; returns the request id."""
        storage, energy = self.system.storage, self.system.energy
        energy.approve(storage, amount_mwh, sender=buyer)
        tx = storage.request_energy(node, amount_mwh, self.chain.pending_timestamp + hours * HOUR, sender=buyer)
        return tx.decode_logs(storage.EnergyRequested)[0].request_id

    # ------------------------------------------------------------------ batches
    def submit_batch(self, relayer, priv, epoch, seq, readings, prev):
        """A batch signed (and proven) by ``greenminer.batch``, anchored with ``MeasurementRegistry.submit``;
        returns its digest (the next batch's prev)."""
        registry = self.system.registry
        signed, digest = device_batch.sign_batch(priv, self.chain.chain_id, registry.address, epoch, seq, readings,
                                                 prev, registry.pow_target())
        v, r, s = split_signature(bytes.fromhex(signed["signature"][2:]))
        packed = [device_batch.pack_reading(*reading) for reading in signed["readings"]]
        registry.submit((signed["device"], epoch, seq, bytes.fromhex(signed["prev_batch"][2:]), signed["pow_nonce"],
                         packed, v, r.to_bytes(32, "big"), s.to_bytes(32, "big")), sender=relayer)
        return digest


def device_meter_kind(kind):
    return {SENT: "sent", RECEIVED: "received", DELIVERED_OUT: "delivered"}[kind]


def hour_readings(start, first_total, power_mw=2_000_000, count=12, step=300):
    """``count`` readings ``(ts, power [mW], total [mWh])`` every ``step`` s from ``start`` + ``step`` - 1 at
    constant power; and the last total."""
    out, total = [], first_total
    for i in range(count):
        total += power_mw * step // HOUR
        out.append((start + step * (i + 1) - 1, power_mw, total))
    return out, total
