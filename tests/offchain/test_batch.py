"""The batch encoding of offchain.protocol.batch against eth-account's EIP-712 encoder."""

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.protocol.batch import (
    SECP256K1_N,
    batch_digest,
    domain_separator,
    expected_hashes,
    join_signature,
    meets_target,
    pack_reading,
    pow_value,
    recover_signer,
    unpack_reading,
)

CHAIN_ID = 1337
REGISTRY = "0x" + "ab" * 20

u64 = st.integers(0, 2**64 - 1)
u128 = st.integers(0, 2**128 - 1)
readings_st = st.lists(st.tuples(u64, u64, u128), min_size=1, max_size=12)


@given(u64, u64, u128)
def test_pack_reading__unpacks_to_the_same_triple(ts, power, total):
    packed = pack_reading(ts, power, total)
    assert packed < 2**256
    assert tuple(unpack_reading(packed)) == (ts, power, total)
    assert packed == ts << 192 | power << 128 | total


@settings(max_examples=50, deadline=None)
@given(
    epoch=u64,
    seq=u64,
    readings=readings_st,
    prev=st.binary(min_size=32, max_size=32),
    nonce=st.integers(0, 2**256 - 1),
    chain_id=st.integers(1, 2**64),
)
def test_batch_digest__equals_eth_account_typed_data(eip712, epoch, seq, readings, prev, nonce, chain_id):
    device = Account.from_key(eip712.secret(0)).address
    message = eip712.message(chain_id, REGISTRY, device, epoch, seq, readings, "0x" + prev.hex(), nonce)
    packed = [pack_reading(*r) for r in readings]
    ours = batch_digest(domain_separator(chain_id, REGISTRY), device, epoch, seq, packed, prev, nonce)
    assert ours == eip712.digest(message)


def test_recover_signer__returns_the_signing_device(eip712):
    key = eip712.secret(3)
    digest = bytes(range(32))
    signed = Account.unsafe_sign_hash(digest, key)
    assert recover_signer(digest, join_signature(signed.v, signed.r, signed.s)) == Account.from_key(key).address


def test_recover_signer__high_s_or_bad_v__none(eip712):
    key = eip712.secret(3)
    digest = bytes(range(32))
    signed = Account.unsafe_sign_hash(digest, key)
    flipped_v = 55 - signed.v  # 27 <-> 28: the same signature with high s
    assert recover_signer(digest, join_signature(flipped_v, signed.r, SECP256K1_N - signed.s)) is None
    assert recover_signer(digest, join_signature(signed.v - 27, signed.r, signed.s)) is None
    assert recover_signer(digest, join_signature(signed.v, 0, signed.s)) is None


def test_meets_target__compares_keccak_of_digest_and_nonce():
    digest = bytes(32)
    value = pow_value(digest, 7)
    assert meets_target(digest, 7, value + 1)
    assert not meets_target(digest, 7, value)
    assert expected_hashes(2**252) == 16


def test_domain_separator__depends_on_chain_and_registry():
    assert domain_separator(CHAIN_ID, REGISTRY) != domain_separator(CHAIN_ID + 1, REGISTRY)
    assert domain_separator(CHAIN_ID, REGISTRY) != domain_separator(CHAIN_ID, "0x" + "cd" * 20)
