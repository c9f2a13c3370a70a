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
@custom:security Low s only: a signature and its malleable twin
        (n − s, other v) are not both accepted.
"""

# field prime p = 2**256 − 2**32 − 977
SECP256K1_P: constant(uint256) = 115792089237316195423570985008687907853269984665640564039457584007908834671663
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
    if (v != 27 and v != 28) or s > SECP256K1_HALF_N:
        return empty(address)
    return ecrecover(digest, v, r, s)
