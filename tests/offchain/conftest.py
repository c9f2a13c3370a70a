"""
Fixtures of the off-chain tests: device keys, batches signed with eth-account (not with
the code under test), a fake registry client, a gateway driven over real HTTP on
127.0.0.1, and the contracts on ape's embedded chain.
"""

import asyncio
import json
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak

from offchain.gateway import Gateway, Submission
from offchain.index import store
from offchain.protocol.batch import pow_value, typed_data
from offchain.protocol.enroll import send_application

EPOCH = 3_600  # s
CHAIN_ID = 1337
CAPACITY_W = 5_000  # 5 kWp
MARGIN_BPS = 15_000  # power may reach 150 % of capacity
GRACE = 3_600  # s
POW_TARGET = 2**252  # about 16 hashes a batch
FAKE_REGISTRY = "0x" + "ab" * 20
FAKE_GENESIS = 1_700_000_000


# ----------------------------------------------------------------- signing


def typed_batch(chain_id, registry, device, epoch, seq, readings, prev_batch, pow_nonce):
    """The batch as EIP-712 typed data, for eth-account."""
    packed = [ts << 192 | power << 128 | total for ts, power, total in readings]
    rhash = keccak(b"".join(p.to_bytes(32, "big") for p in packed))
    return typed_data(chain_id, registry, device, epoch, seq, rhash, bytes.fromhex(prev_batch[2:]), pow_nonce)


def typed_digest(message):
    """``keccak256(0x19 0x01 ‖ domain ‖ struct)`` as eth-account computes it."""
    signable = encode_typed_data(full_message=message)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


class Device:
    """A miner's device key that signs batches the way docs/protocol.md says."""

    def __init__(self, key, chain_id, registry, genesis, target=POW_TARGET):
        self.account = Account.from_key(key)
        self.address = self.account.address
        self.pubkey = keys.PrivateKey(self.account.key).public_key.to_bytes()
        self.chain_id, self.registry, self.genesis, self.target = chain_id, registry, genesis, target
        self.seq, self.prev, self.total = 0, "0x" + "00" * 32, 0

    def readings(self, epoch, n=12, power=2_000_000):
        """``n`` readings 5 minutes apart in ``epoch``, at ``power`` mW, totals continuing."""
        out = []
        for k in range(n):
            self.total += power * 300 // EPOCH
            out.append([self.genesis + EPOCH * epoch + 150 + 300 * k, power, self.total])
        return out

    def sign(self, epoch, readings=None, seq=None, prev=None, nonce=None, key=None, advance=True):
        """
        A signed batch as the JSON object a device posts; by default the next one.

        ``advance`` moves the device's seq and prev_batch on (as when the batch is accepted).
        """
        readings = self.readings(epoch) if readings is None else readings
        seq = self.seq if seq is None else seq
        prev = self.prev if prev is None else prev
        if nonce is None:
            nonce = 0
            while True:
                message = typed_batch(self.chain_id, self.registry, self.address, epoch, seq, readings, prev, nonce)
                digest = typed_digest(message)
                if pow_value(digest, nonce) < self.target:
                    break
                nonce += 1
        message = typed_batch(self.chain_id, self.registry, self.address, epoch, seq, readings, prev, nonce)
        digest = typed_digest(message)
        signed = Account.unsafe_sign_hash(digest, key or self.account.key)
        signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        if advance:
            self.seq, self.prev = seq + 1, "0x" + digest.hex()
        return {
            "device": self.address,
            "epoch": epoch,
            "seq": seq,
            "readings": readings,
            "prev_batch": prev,
            "pow_nonce": nonce,
            "signature": "0x" + signature.hex(),
        }


def _secret(i):
    """A fixed, distinct device private key per index."""
    return keccak(text=f"green-energy-miners test device {i}")


# ----------------------------------------------------------------- fake registry


class FakeRegistry:
    """
    A registry client without a chain: known devices and their last state, for the
    gateway's refusal tests. ``submit_many`` accepts every batch it is given.
    """

    def __init__(self, genesis=FAKE_GENESIS, target=POW_TARGET):
        from offchain.protocol.batch import domain_separator

        self.chain_id, self.address = CHAIN_ID, FAKE_REGISTRY
        self.separator = domain_separator(CHAIN_ID, FAKE_REGISTRY)
        self._genesis, self.target = genesis, target
        self.devices = {}  # address -> (token_id, capacity_w, status)
        self.states = {}  # address -> (last_total, last_ts, next_seq, last_hash)
        self.submitted = []

    def domain_separator(self):
        return self.separator

    def genesis(self):
        return self._genesis

    def pow_target(self):
        return self.target

    def capacity_margin_bps(self):
        return MARGIN_BPS

    def device_check(self, device):
        return self.devices.get(device, (0, 0, 0)), self.states.get(device, (0, 0, 0, bytes(32)))

    def submit_many(self, batches):
        from offchain.protocol.batch import digest_of, unpack_reading

        self.submitted.append(list(batches))
        accepted = set()
        for b in batches:
            digest = digest_of(self.separator, b)
            last = unpack_reading(b.readings[-1])
            self.states[b.device] = (last.total_mwh, last.ts, b.seq + 1, digest)
            accepted.add(digest)
        return Submission("0x" + "cd" * 32, accepted, {})

    def accepted(self, device):
        return {}


@pytest.fixture(scope="session")
def eip712():
    """eth-account's EIP-712 encoding of a batch: ``eip712.message(...)``, ``eip712.digest(message)``."""
    return SimpleNamespace(
        message=typed_batch, digest=typed_digest, secret=_secret, address=lambda key: Account.from_key(key).address
    )


@pytest.fixture
def fake_chain():
    return FakeRegistry()


@pytest.fixture
def make_device():
    """Factory: a device with key index ``i`` for a registry (default: the fake one)."""

    def make(i, chain_id=CHAIN_ID, registry=FAKE_REGISTRY, genesis=FAKE_GENESIS, target=POW_TARGET):
        return Device(_secret(i), chain_id, registry, genesis, target)

    return make


@pytest.fixture
def fake_device(make_device, fake_chain):
    """A device the fake registry knows as token 1, active."""
    device = make_device(1)
    fake_chain.devices[device.address] = (1, CAPACITY_W, 1)
    return device


@pytest.fixture
def mem_store():
    conn = store.open_store(":memory:")
    yield conn
    conn.close()


@pytest.fixture
def gateway_on(mem_store):
    """Factory: a gateway over a store and a registry client (default: the in-memory store)."""
    made = []

    def make(chain, conn=None, **kwargs):
        gw = Gateway(mem_store if conn is None else conn, chain, **kwargs)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.close()


# ----------------------------------------------------------------- HTTP on loopback


async def _requests(app, calls):
    server = TestServer(app, host="127.0.0.1")
    async with TestClient(server) as client:
        assert server.host == "127.0.0.1"
        answers = []
        for method, path, body in calls:
            data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
            response = await client.request(method, path, data=data)
            text = await response.text()
            answers.append((response.status, json.loads(text)))
        return answers


@pytest.fixture
def http():
    """
    ``http(gateway, [(method, path, body), ...])`` -> ``[(status, json), ...]``: the gateway
    served on 127.0.0.1 (relay off) for the calls; a body that is not bytes or str is sent as JSON.
    """

    def call(gateway, calls):
        return asyncio.run(_requests(gateway.app(relay=False), calls))

    return call


# ----------------------------------------------------------------- chain


# deployer (owner of the SBT and the registry here; the DAO in production), miner and
# sbt come from tests/conftest.py


@pytest.fixture
def genesis(chain):
    """Start of epoch 0: the start of the current hour [s], so epoch 0 ends in the future."""
    return (chain.pending_timestamp // EPOCH) * EPOCH


@pytest.fixture
def registry(project, deployer, sbt, genesis):
    registry = deployer.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE)
    sbt.set_registry(registry, sender=deployer)
    return registry


@pytest.fixture
def admit(sbt, deployer, miner, registry, genesis, chain):
    """Factory: a device with key index ``i``, admitted on the SBT, signing for the registry;
    enrolled at genesis (the start of this hour, so that epoch 0's readings count) with its
    total at ``start_total`` [mWh]."""

    def make(i, start_total=0):
        device = Device(_secret(i), chain.chain_id, registry.address, genesis)
        device.total = start_total
        send_application(chain, sbt, miner, _secret(i), CAPACITY_W, 48_856_600, 2_352_200, "ipfs://miner",
                         start_total, start_time=genesis)
        sbt.approve_application(sbt.application_count(), sender=deployer)
        return device

    return make


@pytest.fixture
def end_of(chain, genesis):
    """``end_of(e)``: move the chain to just after epoch ``e`` ends (inside its grace period)."""

    def move(epoch):
        chain.pending_timestamp = genesis + EPOCH * (epoch + 1) + 60
        chain.mine()

    return move
