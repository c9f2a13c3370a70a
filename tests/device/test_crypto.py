"""The device's pure-Python cryptography against the C-backed Ethereum libraries.

Every hash, key, address, signature and EIP-712 digest of ``greenminer`` is compared
with eth-account / eth-utils / hashlib on random inputs; the only literal expected
values are published test vectors (Keccak, FIPS 180-2, RFC 4231, RFC 6979).
"""

import ast
import hashlib
import hmac
import os
import pathlib

import pytest
from eth_abi.packed import encode_packed
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data, hash_domain
from eth_keys import keys
from eth_keys.backends.native.jacobian import fast_multiply
from eth_utils import keccak as ref_keccak
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

import greenminer
from greenminer import batch, health, keccak, meter, secp256k1, sha256
from greenminer.keccak import RATE
from greenminer.protocol import HEALTH_FIELDS
from offchain.protocol import health as ref_health
from offchain.protocol import meter as ref_meter
from offchain.protocol.batch import typed_data

N = secp256k1.N

private_keys = st.integers(min_value=1, max_value=N - 1)
digests = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
readings_st = st.lists(
    st.tuples(uint64, uint64, st.integers(min_value=0, max_value=2**128 - 1)),
    min_size=1,
    max_size=batch.MAX_READINGS,
)

def _key_bytes(priv):
    return priv.to_bytes(32, "big")


def _domain(chain_id, registry):
    return {
        "name": "GreenEnergyMiners",
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(registry),
    }


def _typed_batch(chain_id, registry, device, epoch, seq, rhash, prev, nonce):
    """The batch as eth-account's EIP-712 encoder sees it (types exactly as in protocol.md)."""
    return encode_typed_data(full_message=typed_data(chain_id, registry, device, epoch, seq, rhash, prev, nonce))


def _ref_readings_hash(triples):
    packed = b"".join(
        encode_packed(["uint64", "uint64", "uint128"], list(t)) for t in triples
    )
    return ref_keccak(packed)


# ----------------------------------------------------------------------------
# Keccak-256: the board's pure-Python sponge and the compiled one CPython uses
# ----------------------------------------------------------------------------

KECCAKS = [pytest.param((keccak.pure_keccak256, keccak.pure_absorb), id="pure"),
           pytest.param((keccak.keccak256, keccak.absorb), id="compiled")]
SHA256S = [pytest.param((sha256.pure_sha256, sha256.pure_hmac_key, sha256.pure_hmac_sha256), id="pure"),
           pytest.param((sha256.sha256, sha256.hmac_key, sha256.hmac_sha256), id="compiled")]


def test_compiled_forms__on_cpython__are_in_use():
    assert keccak.keccak256 is not keccak.pure_keccak256  # pycryptodome is installed with ape
    assert sha256.sha256 is not sha256.pure_sha256


@pytest.mark.parametrize("impl", KECCAKS)
@pytest.mark.parametrize(
    "message, expected",
    [
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    ],
)
def test_keccak256__published_vectors__match(message, expected, impl):
    assert impl[0](message).hex() == expected


@pytest.mark.parametrize("impl", KECCAKS)
@pytest.mark.parametrize(
    "length", [0, 1, 31, 32, 33, 63, 64, 65, 134, 135, 136, 137, 200, 271, 272, 273, 1000]
)
def test_keccak256__block_boundary_lengths__match_eth_utils(length, impl):
    for _ in range(5):
        data = os.urandom(length)
        assert impl[0](data) == ref_keccak(data)


@pytest.mark.parametrize("impl", KECCAKS)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=700))
def test_keccak256__random_messages__match_eth_utils(data, impl):
    assert impl[0](data) == ref_keccak(data)
    assert impl[0](bytearray(data)) == ref_keccak(data)


@pytest.mark.parametrize("impl", KECCAKS)
@settings(max_examples=50, deadline=None)
@given(blocks=st.integers(min_value=0, max_value=3), tail=st.binary(max_size=300))
def test_keccak256__absorbed_prefix__hashes_prefix_and_data(blocks, tail, impl):
    prefix = os.urandom(RATE * blocks)
    assert impl[0](tail, impl[1](prefix)) == ref_keccak(prefix + tail)


@pytest.mark.parametrize("impl", KECCAKS)
def test_absorb__partial_block__raises(impl):
    with pytest.raises(ValueError, match="multiple of 136"):
        impl[1](bytes(RATE + 1))


# ----------------------------------------------------------------------------
# SHA-256 and HMAC
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("impl", SHA256S)
@pytest.mark.parametrize(
    "message, expected",
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ],
)
def test_sha256__fips_vectors__match(message, expected, impl):
    assert impl[0](message).hex() == expected


@pytest.mark.parametrize("impl", SHA256S)
@pytest.mark.parametrize("length", list(range(0, 130)) + [191, 192, 193, 1000])
def test_sha256__every_padding_length__matches_hashlib(length, impl):
    data = os.urandom(length)
    assert impl[0](data) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("impl", SHA256S)
@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_sha256__random_messages__match_hashlib(data, impl):
    assert impl[0](data) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("impl", SHA256S)
def test_hmac_sha256__rfc4231_case_2__matches(impl):
    tag = impl[2](b"Jefe", b"what do ya want for nothing?")
    assert tag.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


@pytest.mark.parametrize("impl", SHA256S)
@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=150), data=st.binary(max_size=200))
def test_hmac_sha256__random_keys__match_stdlib_hmac(key, data, impl):
    expected = hmac.new(key, data, hashlib.sha256).digest()
    assert impl[2](key, data) == expected
    assert impl[2](impl[1](key), data) == expected


# ----------------------------------------------------------------------------
# RFC 6979 nonces
# ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "message, expected_k",
    [
        (b"sample", 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60),
        (b"test", 0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0),
    ],
)
def test_rfc6979_nonces__rfc_a25_p256_sha256__match(message, expected_k):
    # RFC 6979 A.2.5 (P-256, SHA-256): same qlen = hlen = 256, so the same HMAC-DRBG;
    # both message hashes are below P-256's order, so bits2octets(h) is h itself.
    x = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
    h1 = hashlib.sha256(message).digest()
    assert next(secp256k1._rfc6979_nonces(x.to_bytes(32, "big"), h1)) == expected_k


def _ref_rfc6979_candidates(x, h1, count):
    """RFC 6979 §3.2 steps b-h with the standard library's HMAC, ``count`` candidates."""
    def mac(key, data):
        return hmac.new(key, data, hashlib.sha256).digest()

    v, k = b"\x01" * 32, b"\x00" * 32
    k = mac(k, v + b"\x00" + x + h1)
    v = mac(k, v)
    k = mac(k, v + b"\x01" + x + h1)
    v = mac(k, v)
    out = []
    while len(out) < count:
        v = mac(k, v)
        out.append(int.from_bytes(v, "big"))
        k = mac(k, v + b"\x00")
        v = mac(k, v)
    return out


@settings(max_examples=20, deadline=None)
@given(priv=private_keys, digest=digests)
def test_rfc6979_nonces__retry_candidates__match_reference(priv, digest):
    x, h1 = priv.to_bytes(32, "big"), digest
    gen = secp256k1._rfc6979_nonces(x, h1)
    assert [next(gen) for _ in range(4)] == _ref_rfc6979_candidates(x, h1, 4)


# ----------------------------------------------------------------------------
# Keys, addresses, signatures
# ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(priv=private_keys)
def test_public_key__random_keys__match_eth_keys_and_address(priv):
    pub = secp256k1.public_key(priv)
    assert pub == keys.PrivateKey(_key_bytes(priv)).public_key.to_bytes()
    expected = Account.from_key(_key_bytes(priv)).address
    assert secp256k1.address(pub) == bytes.fromhex(expected[2:])


@pytest.mark.parametrize("priv", [1, 2, 15, 16, 17, 2**128, N - 2, N - 1])
def test_public_key__edge_keys__match_eth_keys(priv):
    assert secp256k1.public_key(priv) == keys.PrivateKey(_key_bytes(priv)).public_key.to_bytes()


@pytest.mark.parametrize("priv", [0, -1, N, N + 1, 2**256])
def test_public_key__out_of_range_key__raises(priv):
    with pytest.raises(ValueError, match="private key must be in"):
        secp256k1.public_key(priv)


def test_public_key__without_g_table__same_keys(monkeypatch):
    # The CircuitPython path (no fixed-base table) must give the same points.
    privs = [1, N - 1] + [int.from_bytes(os.urandom(32), "big") % (N - 1) + 1 for _ in range(10)]
    expected = [secp256k1.public_key(p) for p in privs]
    monkeypatch.setattr(secp256k1, "_USE_G_TABLE", False)
    assert [secp256k1.public_key(p) for p in privs] == expected


@settings(max_examples=250, deadline=None)
@given(priv=private_keys, digest=digests)
def test_sign__random_keys__match_eth_account(priv, digest):
    expected = Account.unsafe_sign_hash(digest, _key_bytes(priv))
    v, r, s = secp256k1.sign(digest, priv)
    assert (v, r, s) == (expected.v, expected.r, expected.s)
    assert batch.signature_bytes(v, r, s) == bytes(expected.signature)


@pytest.mark.parametrize("digest", [bytes(32), b"\xff" * 32, N.to_bytes(32, "big")])
@pytest.mark.parametrize("priv", [1, N - 1])
def test_sign__edge_digests_and_keys__match_eth_account(priv, digest):
    expected = Account.unsafe_sign_hash(digest, _key_bytes(priv))
    assert secp256k1.sign(digest, priv) == (expected.v, expected.r, expected.s)


@settings(max_examples=100, deadline=None)
@given(priv=private_keys, digest=digests)
def test_sign__any_input__low_s_and_v_27_or_28(priv, digest):
    v, r, s = secp256k1.sign(digest, priv)
    assert v in (27, 28)
    assert 0 < r < N
    assert 0 < s <= N // 2


def test_sign__same_input_twice__deterministic():
    digest = os.urandom(32)
    assert secp256k1.sign(digest, 12345) == secp256k1.sign(digest, 12345)


def test_sign__short_digest__raises():
    with pytest.raises(ValueError, match="32 bytes"):
        secp256k1.sign(b"\x01" * 31, 1)


@settings(max_examples=100, deadline=None)
@given(priv=private_keys, digest=digests)
def test_recover__own_signature__returns_public_key(priv, digest):
    v, r, s = secp256k1.sign(digest, priv)
    pub = secp256k1.recover(digest, v, r, s)
    assert pub == secp256k1.public_key(priv)
    signature = batch.signature_bytes(v, r, s)
    assert Account._recover_hash(digest, signature=signature) == to_checksum_address(
        secp256k1.address(pub)
    )
    # ecrecover also accepts the high-s twin with the other v
    assert secp256k1.recover(digest, 55 - v, r, N - s) == pub


@pytest.mark.parametrize(
    "v, r, s, reason",
    [
        (29, 1, 1, "v must be 27 or 28"),
        (27, 0, 1, "r and s must be in"),
        (27, 1, N, "r and s must be in"),
        (27, 5, 1, "not the x of a curve point"),  # 5**3 + 7 is not a square mod P
    ],
)
def test_recover__malformed_signature__raises(v, r, s, reason):
    with pytest.raises(ValueError, match=reason):
        secp256k1.recover(bytes(32), v, r, s)


@settings(max_examples=50, deadline=None)
@given(a=private_keys, b=private_keys)
def test_multiply__ecdh__symmetric_and_matches_eth_keys(a, b):
    pa = secp256k1.decode_point(secp256k1.public_key(a))
    pb = secp256k1.decode_point(secp256k1.public_key(b))
    shared = secp256k1.multiply(a, pb)
    assert shared == secp256k1.multiply(b, pa)
    assert shared == fast_multiply(pb, a)


def test_multiply__generator__matches_public_key():
    k = int.from_bytes(os.urandom(32), "big") % (N - 1) + 1
    point = secp256k1.multiply(k, secp256k1.G)
    assert secp256k1.encode_point(point) == secp256k1.public_key(k)


def test_multiply__off_curve_point__raises():
    with pytest.raises(ValueError, match="not on the curve"):
        secp256k1.multiply(3, (secp256k1.GX, secp256k1.GY + 1))


def test_decode_point__off_curve_key__raises():
    pub = bytearray(secp256k1.public_key(7))
    pub[63] ^= 1
    with pytest.raises(ValueError, match="not on the curve"):
        secp256k1.decode_point(bytes(pub))


@settings(max_examples=50, deadline=None)
@given(a=st.integers(min_value=1, max_value=2**256), m=st.sampled_from([secp256k1.P, N]))
def test_inverse_and_pow_mod__random_values__match_builtin_pow(a, m):
    if a % m:
        assert secp256k1.inverse(a, m) == pow(a, -1, m)
    assert secp256k1.pow_mod(a, m - 2, m) == pow(a, m - 2, m)


def test_inverse__zero__raises():
    with pytest.raises(ValueError, match="not invertible"):
        secp256k1.inverse(N, N)


# ----------------------------------------------------------------------------
# Readings
# ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(ts=uint64, power=uint64, total=st.integers(min_value=0, max_value=2**128 - 1))
def test_pack_reading__random_fields__match_abi_packed_and_round_trip(ts, power, total):
    packed = batch.pack_reading(ts, power, total)
    assert packed.to_bytes(32, "big") == encode_packed(
        ["uint64", "uint64", "uint128"], [ts, power, total]
    )
    assert batch.unpack_reading(packed) == (ts, power, total)


@pytest.mark.parametrize(
    "fields, name",
    [
        ((-1, 0, 0), "timestamp"),
        ((2**64, 0, 0), "timestamp"),
        ((0, -1, 0), "power_mw"),
        ((0, 2**64, 0), "power_mw"),
        ((0, 0, -1), "total_mwh"),
        ((0, 0, 2**128), "total_mwh"),
        ((1.5, 0, 0), "timestamp"),
        ((0, True, 0), "power_mw"),
    ],
)
def test_pack_reading__out_of_range_field__raises(fields, name):
    with pytest.raises(ValueError, match=name):
        batch.pack_reading(*fields)


@pytest.mark.parametrize("packed", [-1, 2**256])
def test_unpack_reading__out_of_range__raises(packed):
    with pytest.raises(ValueError, match="packed reading"):
        batch.unpack_reading(packed)


@settings(max_examples=50, deadline=None)
@given(readings=readings_st)
def test_readings_hash__random_readings__match_eth_abi(readings):
    packed = [batch.pack_reading(*r) for r in readings]
    assert batch.readings_hash(packed) == _ref_readings_hash(readings)


# ----------------------------------------------------------------------------
# Addresses and hex
# ----------------------------------------------------------------------------

def test_as_bytes__hex_and_raw__agree():
    raw = os.urandom(20)
    assert batch.as_bytes(raw, 20) == raw
    assert batch.as_bytes(bytearray(raw), 20) == raw
    assert batch.as_bytes("0x" + raw.hex(), 20) == raw
    assert batch.as_bytes(to_checksum_address(raw), 20) == raw
    assert batch.to_hex(raw) == "0x" + raw.hex()


@pytest.mark.parametrize(
    "value",
    ["0x" + "00" * 19, "00" * 20, "0x" + "zz" * 20, "0x" + " 1" * 20, "0x" + "_1" * 20,
     b"\x00" * 19, 12345, None],
)
def test_as_bytes__malformed_address__raises(value):
    with pytest.raises(ValueError, match="batch: expected"):
        batch.as_bytes(value, 20)


# ----------------------------------------------------------------------------
# EIP-712 batch digest
# ----------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(chain_id=st.integers(min_value=1, max_value=2**64), registry=addresses)
def test_domain_separator__random_domains__match_eth_account(chain_id, registry):
    expected = hash_domain(_domain(chain_id, registry))
    assert batch.domain_separator(chain_id, registry) == expected
    assert batch.domain_separator(chain_id, "0x" + registry.hex()) == expected


@settings(max_examples=100, deadline=None)
@given(
    chain_id=st.integers(min_value=1, max_value=2**64),
    registry=addresses,
    device=addresses,
    epoch=uint64,
    seq=uint64,
    readings=readings_st,
    prev=digests,
    nonce=st.integers(min_value=0, max_value=2**256 - 1),
)
def test_digest__random_batches__match_eth_account_typed_data(
    chain_id, registry, device, epoch, seq, readings, prev, nonce
):
    rhash = batch.readings_hash([batch.pack_reading(*r) for r in readings])
    sep = batch.domain_separator(chain_id, registry)
    got = batch.digest(sep, batch.struct_hash(device, epoch, seq, rhash, prev, nonce))
    typed = _typed_batch(chain_id, registry, device, epoch, seq, rhash, prev, nonce)
    assert got == _hash_eip191_message(typed)


@pytest.mark.parametrize(
    "epoch, seq, nonce, name",
    [(2**64, 0, 0, "epoch"), (0, -1, 0, "seq"), (0, 0, 2**256, "pow_nonce")],
)
def test_struct_hash__out_of_range_field__raises(epoch, seq, nonce, name):
    with pytest.raises(ValueError, match=name):
        batch.struct_hash(bytes(20), epoch, seq, bytes(32), bytes(32), nonce)


# ----------------------------------------------------------------------------
# Proof of work
# ----------------------------------------------------------------------------

def _ref_pow_hash(sep, device, epoch, seq, rhash, prev, nonce):
    dig = batch.digest(sep, batch.struct_hash(device, epoch, seq, rhash, prev, nonce))
    return int.from_bytes(ref_keccak(dig + nonce.to_bytes(32, "big")), "big")


@settings(max_examples=10, deadline=None)
@given(
    device=addresses,
    epoch=uint64,
    seq=uint64,
    prev=digests,
    start=st.integers(min_value=0, max_value=2**64),
)
def test_find_pow__found_nonce__meets_target_and_earlier_nonces_do_not(
    device, epoch, seq, prev, start
):
    target = 2**250  # about 64 tries
    sep = batch.domain_separator(1337, os.urandom(20))
    rhash = os.urandom(32)
    nonce = batch.find_pow(sep, device, epoch, seq, rhash, prev, target, start)
    assert nonce is not None and nonce >= start
    assert _ref_pow_hash(sep, device, epoch, seq, rhash, prev, nonce) < target
    for earlier in range(start, nonce):
        assert _ref_pow_hash(sep, device, epoch, seq, rhash, prev, earlier) >= target
    dig = batch.digest(sep, batch.struct_hash(device, epoch, seq, rhash, prev, nonce))
    assert batch.pow_hash(dig, nonce) < target


def test_find_pow__in_slices__finds_the_same_nonce():
    args = (os.urandom(32), os.urandom(20), 5, 1, os.urandom(32), bytes(32), 2**251)
    nonce = batch.find_pow(*args)
    start, found = 0, None
    while found is None:
        found = batch.find_pow(*args, start=start, count=7)
        if found is None:
            start += 7
    assert found == nonce
    assert batch.find_pow(*args, start=0, count=nonce) is None


def test_find_pow__zero_target__raises():
    with pytest.raises(ValueError, match="target must be positive"):
        batch.find_pow(bytes(32), bytes(20), 0, 0, bytes(32), bytes(32), 0)


# ----------------------------------------------------------------------------
# A whole batch
# ----------------------------------------------------------------------------

@settings(max_examples=10, deadline=None)
@given(
    priv=private_keys,
    chain_id=st.integers(min_value=1, max_value=2**32),
    registry=addresses,
    epoch=uint64,
    seq=uint64,
    readings=readings_st,
    prev=digests,
)
def test_sign_batch__random_batches__match_eth_account(
    priv, chain_id, registry, epoch, seq, readings, prev
):
    target = 2**252
    out, dig = batch.sign_batch(
        priv, chain_id, "0x" + registry.hex(), epoch, seq, readings, "0x" + prev.hex(), target
    )
    device = Account.from_key(_key_bytes(priv)).address
    assert set(out) == {
        "device", "epoch", "seq", "readings", "prev_batch", "pow_nonce", "signature"
    }
    assert out["device"] == device.lower()
    assert (out["epoch"], out["seq"]) == (epoch, seq)
    assert out["readings"] == [list(r) for r in readings]
    assert out["prev_batch"] == "0x" + prev.hex()
    typed = _typed_batch(
        chain_id, registry, device, epoch, seq, _ref_readings_hash(readings), prev,
        out["pow_nonce"],
    )
    assert dig == _hash_eip191_message(typed)
    assert out["signature"] == "0x" + bytes(Account.sign_message(typed, _key_bytes(priv)).signature).hex()
    assert int.from_bytes(ref_keccak(dig + out["pow_nonce"].to_bytes(32, "big")), "big") < target


def test_sign_batch__board_pure_python_hashes__same_batch(monkeypatch):
    # What a board without pycryptodome or hashlib signs is what CPython signs.
    args = (0xD1CE_0002, 31337, "0x" + "11" * 20, 7, 3, [(1_700_000_000 + 300 * i, 1_000 + i, 17 * i) for i in range(12)],
            "0x" + "22" * 32, 2**250)
    compiled = batch.sign_batch(*args)
    monkeypatch.setattr(batch, "keccak256", keccak.pure_keccak256)
    monkeypatch.setattr(keccak, "keccak256", keccak.pure_keccak256)
    monkeypatch.setattr(keccak, "absorb", keccak.pure_absorb)
    monkeypatch.setattr(sha256, "hmac_key", sha256.pure_hmac_key)
    monkeypatch.setattr(sha256, "hmac_sha256", sha256.pure_hmac_sha256)
    monkeypatch.setattr(secp256k1, "_RFC6979_ZERO_KEY", None)  # cached in the compiled form
    assert batch.sign_batch(*args) == compiled


def test_sign_batch__packed_readings__same_as_triples():
    triples = [(1_700_000_000 + 300 * i, 1520 + i, 123_456 + 10 * i) for i in range(12)]
    packed = [batch.pack_reading(*t) for t in triples]
    args = (0xC0FFEE, 31337, bytes(20), 12, 3)
    assert batch.sign_batch(*args, packed, bytes(32), 2**255) == batch.sign_batch(
        *args, triples, bytes(32), 2**255
    )


@pytest.mark.parametrize("count", [0, batch.MAX_READINGS + 1])
def test_sign_batch__wrong_reading_count__raises(count):
    readings = [(1_700_000_000 + i, 0, i) for i in range(count)]
    with pytest.raises(ValueError, match="1 to 12 readings"):
        batch.sign_batch(1, 1, bytes(20), 0, 0, readings, bytes(32), 2**255)


# ----------------------------------------------------------------------------
# Meter statements (StorageNode)
# ----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(
    priv=private_keys,
    chain_id=st.integers(min_value=1, max_value=2**64),
    storage=addresses,
    node=st.integers(min_value=0, max_value=2**256 - 1),
    id_=st.integers(min_value=0, max_value=2**256 - 1),
    party=addresses,
    start=uint64,
    end=uint64,
    energy=st.integers(min_value=0, max_value=2**128 - 1),
    kind=st.sampled_from([meter.RECEIVED, meter.DELIVERED_OUT]),
)
def test_sign_statement__random_statements__match_eth_account(
    priv, chain_id, storage, node, id_, party, start, end, energy, kind
):
    out = meter.sign_statement(priv, chain_id, storage, node, id_, party, start, end, energy, kind)
    typed = encode_typed_data(full_message=ref_meter.typed_data(chain_id, storage, node, id_, party, start,
                                                                end, energy, kind))
    assert meter.statement_digest(chain_id, storage, node, id_, party, start, end, energy, kind) == (
        _hash_eip191_message(typed))
    assert out["party"] == "0x" + party.hex()
    assert out["signer"] == Account.from_key(_key_bytes(priv)).address.lower()
    assert out["signature"] == "0x" + bytes(Account.sign_message(typed, _key_bytes(priv)).signature).hex()


@settings(max_examples=20, deadline=None)
@given(priv=private_keys, chain_id=st.integers(min_value=1, max_value=2**64), storage=addresses)
def test_sign_statement__sent_naming_its_device__matches_eth_account(priv, chain_id, storage):
    device = Account.from_key(_key_bytes(priv)).address
    out = meter.sign_statement(priv, chain_id, storage, 1, 101, device, 1_751_328_000, 1_751_414_400, 93_500,
                               meter.SENT)
    typed = encode_typed_data(full_message=ref_meter.typed_data(chain_id, storage, 1, 101, device, 1_751_328_000,
                                                                1_751_414_400, 93_500, meter.SENT))
    assert out["party"] == out["signer"] == device.lower()
    assert out["signature"] == "0x" + bytes(Account.sign_message(typed, _key_bytes(priv)).signature).hex()


def test_sign_statement__sent_naming_another_device__raises():
    other = Account.from_key(_key_bytes(0xD1CE_0002)).address
    with pytest.raises(ValueError, match="names its own device"):
        meter.sign_statement(0xD1CE_0001, 1, bytes(20), 1, 1, other, 0, 1, 1, meter.SENT)


@settings(max_examples=20, deadline=None)
@given(priv=private_keys, digest=digests, values=st.lists(uint64, min_size=len(HEALTH_FIELDS), max_size=len(HEALTH_FIELDS)))
def test_sign_health__random_reports__match_eth_account_personal_sign(priv, digest, values):
    report = dict(zip(HEALTH_FIELDS, values))
    out = health.sign_health(priv, digest, report)
    assert health.health_message(digest, report) == ref_health.health_message(digest, report)
    assert health.health_hash(digest, report) == ref_health.health_hash(digest, report)
    assert out == ref_health.sign_health(_key_bytes(priv), digest, report)  # RFC 6979: byte for byte
    assert ref_health.health_signer(digest, report, bytes.fromhex(out["signature"][2:])) == (
        Account.from_key(_key_bytes(priv)).address)


@pytest.mark.parametrize("name, value", [("boots", 2**64), ("uptime", -1), ("i2c_errors", True)])
def test_sign_health__value_out_of_range__raises(name, value):
    report = dict.fromkeys(HEALTH_FIELDS, 0)
    report[name] = value
    with pytest.raises(ValueError, match=name):
        health.sign_health(0xD1CE_0001, bytes(32), report)


# ----------------------------------------------------------------------------
# CircuitPython compatibility of the package source
# ----------------------------------------------------------------------------

FORBIDDEN_MODULES = {"hashlib", "hmac", "dataclasses", "typing", "secrets", "enum", "functools", "pathlib", "struct",
                     "numpy", "collections"}
FORBIDDEN_ATTRIBUTES = {"bit_length", "fromhex"}  # missing on MicroPython ints / bytes


def _catches_import_error(node):
    for handler in node.handlers:
        names = handler.type
        if names is None:
            return True
        elts = names.elts if isinstance(names, ast.Tuple) else [names]
        if any(isinstance(e, ast.Name) and e.id in ("ImportError", "Exception") for e in elts):
            return True
    return False


def cpython_only_constructs(source):
    """Problems that would stop ``source`` on CircuitPython, as ``"line: what"`` strings.

    Imports of CPython-only modules are allowed inside ``try: ... except ImportError``.
    """
    problems = []

    def visit(node, guarded):
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for child in node.body:
                visit(child, True)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not guarded:
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                modules = [node.module or ""] if node.level == 0 else []
            for module in modules:
                if module.split(".")[0] in FORBIDDEN_MODULES:
                    problems.append("%d: import %s" % (node.lineno, module))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "pow" and len(node.args) + len(node.keywords) >= 3:
                problems.append("%d: three-argument pow" % node.lineno)
            if isinstance(func, ast.Attribute) and func.attr in ("to_bytes", "from_bytes"):
                if node.keywords:
                    problems.append("%d: keyword argument to %s" % (node.lineno, func.attr))
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            problems.append("%d: .%s" % (node.lineno, node.attr))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(source), False)
    return problems


@pytest.mark.parametrize(
    "source",
    [
        "import hashlib",
        "from dataclasses import dataclass",
        "from typing import List",
        "import hmac as h",
        "x = pow(2, 3, 5)",
        "x = int.from_bytes(b'ab', byteorder='big')",
        "x = (5).to_bytes(2, 'big', signed=False)",
        "n = x.bit_length()",
        "def f():\n    import hashlib\n",
    ],
)
def test_cpython_only_constructs__forbidden_snippet__is_flagged(source):
    assert cpython_only_constructs(source)


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    import hashlib\nexcept ImportError:\n    hashlib = None\n",
        "from . import keccak",
        "x = pow(2, 3)",
        "x = int.from_bytes(b'ab', 'big')",
    ],
)
def test_cpython_only_constructs__allowed_snippet__passes(source):
    assert cpython_only_constructs(source) == []


def test_package_source__no_cpython_only_constructs():
    package = pathlib.Path(greenminer.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert {"keccak.py", "sha256.py", "secp256k1.py", "batch.py", "meter.py", "health.py"} <= {f.name for f in files}
    problems = [
        "%s:%s" % (f.relative_to(package), p)
        for f in files
        for p in cpython_only_constructs(f.read_text())
    ]
    assert problems == []
