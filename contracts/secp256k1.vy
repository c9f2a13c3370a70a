# pragma version ~=0.4.3
"""
@title secp256k1: curve points and signatures (module)
@license MIT
@notice Stateless helpers on secp256k1 shared by the contracts that take
        device keys and signatures. Each returns a value instead of
        reverting, so that every caller refuses with its own reason.
        - `_on_curve(x, y)`: whether (x, y) is a point of the curve.
        - `_recover(digest, signature)`: the signer of a 65-byte
          signature r ‖ s ‖ v, with v in {27, 28} and low s (EIP-2), or
          the zero address when the signature is malformed.
        - `_recover_vrs(digest, v, r, s)`: the same from its three parts.
        Used by MinerSBT (device keys, enrollments), MeasurementRegistry
        (batches), StorageNode (meter statements) and the lottery module
        (keys and points).
@custom:security Low s only: a signature and its malleable twin
        (n − s, other v) are not both accepted.
"""

# SEC 2: field prime p = 2**256 − 2**32 − 977, group order n
# (0xFFFF…FFFE BAAEDCE6 AF48A03B BFD25E8C D0364141), generator G
# (0x79BE667E…16F81798, 0x483ADA77…FB10D4B8; G.y is even)
SECP256K1_P: constant(uint256) = 115792089237316195423570985008687907853269984665640564039457584007908834671663
SECP256K1_N: constant(uint256) = 115792089237316195423570985008687907852837564279074904382605163141518161494337
SECP256K1_GX: constant(uint256) = 55066263022277343669578718895168534326250603453777594175500187360389116729240
SECP256K1_GY: constant(uint256) = 32670510020758816978083085130507043184471273380659243275938904335757337482424
# n // 2, the largest low s (as snekmate's ecdsa `_MALLEABILITY_THRESHOLD`)
SECP256K1_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168


@internal
@pure
def _on_curve(x: uint256, y: uint256) -> bool:
    """
    @dev y² = x³ + 7 (mod p), with both coordinates reduced.
    """
    if x >= SECP256K1_P or y >= SECP256K1_P:
        return False
    lhs: uint256 = uint256_mulmod(y, y, SECP256K1_P)
    rhs: uint256 = uint256_addmod(uint256_mulmod(uint256_mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P)
    return lhs == rhs


@internal
@pure
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of `digest`, or the zero address for a signature that is
         not 65 bytes, has v outside {27, 28} or a high s.
    """
    if len(signature) != 65:
        return empty(address)
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    # the rule of `_recover_vrs`, inline: an internal call costs the storage nodes gas
    if (v != 27 and v != 28) or s > SECP256K1_HALF_N:
        return empty(address)
    return ecrecover(digest, v, r, s)


@internal
@pure
def _recover_vrs(digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @dev The signer of `digest`, or the zero address for v outside {27, 28},
         a high s, or a signature ecrecover rejects.
    """
    if (v != 27 and v != 28) or convert(s, uint256) > SECP256K1_HALF_N:
        return empty(address)
    return ecrecover(digest, v, r, s)
