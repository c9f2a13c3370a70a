# pragma version ~=0.4.3
"""
@title NaiveEpochKeys: gas baseline for EpochKeys.reveal (bench only)
@license MIT
@notice The same reveal as EpochKeys (checks, 60 block hashes, sha256,
        ecrecover, event), written the obvious way: the public key, the
        commit block, the secret key and the entropy each in their own slot,
        so the reveal writes two fresh slots. Not part of the system:
        bench/test_gas_rewards.py deploys it to show what reusing the
        commit's slots saves. Anyone may commit; nothing is closed.
@custom:security Not reviewed for use.
"""

event Revealed:
    epoch: indexed(uint64)
    sk: uint256
    entropy: bytes32

REVEAL_DELAY: constant(uint256) = 60  # blocks
SECP256K1_N: constant(uint256) = 115792089237316195423570985008687907852837564279074904382605163141518161494337
SECP256K1_GX: constant(uint256) = 55066263022277343669578718895168534326250603453777594175500187360389116729240

pk_x: public(HashMap[uint64, uint256])
pk_y: public(HashMap[uint64, uint256])
committed_block: public(HashMap[uint64, uint256])
secret: public(HashMap[uint64, uint256])
entropy: public(HashMap[uint64, bytes32])


@external
def commit(epoch: uint64, pk_x: uint256, pk_y: uint256):
    assert self.committed_block[epoch] == 0, "naive: already committed"
    self.pk_x[epoch] = pk_x
    self.pk_y[epoch] = pk_y
    self.committed_block[epoch] = block.number


@external
def reveal(epoch: uint64, sk: uint256):
    h: uint256 = self.committed_block[epoch]
    assert h != 0, "naive: not committed"
    assert self.secret[epoch] == 0, "naive: already revealed"
    assert block.number >= h + REVEAL_DELAY, "naive: too early"
    assert block.number <= h + 256, "naive: too late"
    pk: address = convert(
        convert(keccak256(concat(convert(self.pk_x[epoch], bytes32), convert(self.pk_y[epoch], bytes32))), uint256)
        & (2**160 - 1),
        address,
    )
    assert sk != 0 and sk < SECP256K1_N, "naive: wrong key"
    # G.y is even: v = 27
    assert ecrecover(empty(bytes32), 27, SECP256K1_GX, uint256_mulmod(SECP256K1_GX, sk, SECP256K1_N)) == pk, "naive: wrong key"
    hashes: bytes32[REVEAL_DELAY] = empty(bytes32[REVEAL_DELAY])
    for i: uint256 in range(REVEAL_DELAY):
        hashes[i] = blockhash(h + i)
    e: bytes32 = sha256(abi_encode(hashes))
    self.secret[epoch] = sk
    self.entropy[epoch] = e
    log Revealed(epoch=epoch, sk=sk, entropy=e)
