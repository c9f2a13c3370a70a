# pragma version ~=0.4.3
"""
@title lottery: the PoGG lottery's maths on secp256k1 (module)
@license MIT
@notice Functions shared by EpochKeys (reveal, views) and
        RewardDistributor (claims), so that each formula exists once
        (twins: offchain.scoring.pogg.seed, offchain.scoring.pogg.ecdh_point).
        - `_is_multiple(k, P, q)`: whether k·P has the address q, checked
          with ecrecover, there being no curve precompile:
          ecrecover(0, 27 + (P.y & 1), P.x, P.x·k mod n) recovers
          r⁻¹·(s·R − 0·G) = k·P (R = P, r = P.x, s = r·k).
        - `_seed(X, N, entropy, K)` = uint256(sha256(bytes32((X·N) mod p) ‖ entropy)) mod K.
        - `_wins`: the winning rule (point, N > 0, SEED = 0), used by
          `EpochKeys.is_winner` and `RewardDistributor.claim`.
@custom:security ecrecover fails (returns the zero address, so the check
        is false) for P.x = 0, P.x ≥ n (probability about 2⁻¹²⁸ for a
        random point) and k ≡ 0 (mod n). The claimed point is bound by its
        address (160 bits); finding another point with the same address is a
        second preimage of keccak256.
        Build note: ape (0.8, ape-vyper 0.8.12) recompiles only the files
        that changed, not their importers: after editing this module run
        `ape compile --force`.
"""

import secp256k1

interface IMinerSBT:
    def device_pubkey(token_id: uint256) -> (uint256, uint256): view
    def device_of(token_id: uint256) -> address: view

interface IMeasurementRegistry:
    def legal_count(device: address, epoch: uint64) -> uint256: view


MODEXP: constant(address) = 0x0000000000000000000000000000000000000005  # EIP-198 precompile


@internal
@view
def _wins(
    sbt: address,
    registry: address,
    epoch: uint64,
    token_id: uint256,
    px: uint256,
    py: uint256,
    sk_inv: uint256,
    entropy: bytes32,
    k: uint256,
) -> bool:
    """
    @dev The whole winning rule of a revealed epoch: Q = (px, py) is
         SK_e·PK_device of the token, N > 0 and SEED = 0. Q is checked from
         its own side: SK_e⁻¹·Q must be the device key, i.e. have the
         device's address, which the SBT keeps in one slot (the key itself
         takes two). Q must be a curve point, so that py is the y of the
         point ecrecover rebuilds from px and py's parity.
    @param sk_inv SK_e⁻¹ mod n (`_inverse`).
    """
    if not secp256k1._on_curve(px, py):
        return False
    device: address = staticcall IMinerSBT(sbt).device_of(token_id)
    if not self._is_multiple(sk_inv, px, py, device):
        return False
    n: uint256 = staticcall IMeasurementRegistry(registry).legal_count(device, epoch)
    return n != 0 and self._seed(px, n, entropy, k) == 0


@internal
@view
def _inverse(k: uint256) -> uint256:
    """
    @dev k⁻¹ mod n = k^(n − 2) mod n (n prime), by the modexp precompile;
         0 for k = 0.
    """
    out: Bytes[32] = raw_call(
        MODEXP,
        concat(
            convert(32, bytes32),  # length of the base
            convert(32, bytes32),  # length of the exponent
            convert(32, bytes32),  # length of the modulus
            convert(k, bytes32),
            convert(secp256k1.SECP256K1_N - 2, bytes32),
            convert(secp256k1.SECP256K1_N, bytes32),
        ),
        max_outsize=32,
        is_static_call=True,
    )
    return convert(out, uint256)


@internal
@view
def _device_point(sbt: address, token_id: uint256, sk: uint256, px: uint256, py: uint256) -> (address, bool):
    """
    @dev The token's device address and whether (px, py) = sk·PK_device.
         MinerSBT admits a device only if its address is keccak256(key)[12:],
         so the address comes from the key (one call, not two).
    """
    dx: uint256 = 0
    dy: uint256 = 0
    dx, dy = staticcall IMinerSBT(sbt).device_pubkey(token_id)
    return self._address_of(dx, dy), self._is_multiple(sk, dx, dy, self._address_of(px, py))


@internal
@pure
def _is_multiple(k: uint256, px: uint256, py: uint256, q: address) -> bool:
    """
    @dev Whether k·P has the address q (P = (px, py) a curve point).
    """
    recovered: address = ecrecover(empty(bytes32), 27 + (py & 1), px, uint256_mulmod(px, k, secp256k1.SECP256K1_N))
    return recovered != empty(address) and recovered == q


@internal
@pure
def _seed(x: uint256, n: uint256, entropy: bytes32, k: uint256) -> uint256:
    """
    @dev SEED = uint256(sha256(bytes32((x·n) mod p) ‖ entropy)) mod k (docs/architecture.md, PoGG).
    """
    word: uint256 = uint256_mulmod(x, n, secp256k1.SECP256K1_P)
    return convert(sha256(concat(convert(word, bytes32), entropy)), uint256) % k


@internal
@pure
def _address_of(x: uint256, y: uint256) -> address:
    """
    @dev The Ethereum address of a public key: keccak256(x ‖ y)[12:].
    """
    return convert(convert(keccak256(concat(convert(x, bytes32), convert(y, bytes32))), uint256) & (2**160 - 1), address)


