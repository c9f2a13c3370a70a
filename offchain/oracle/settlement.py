"""An epoch's lottery and settlement (pure): winners, amounts and the Merkle tree of their leaves."""

from typing import NamedTuple

import numpy as np

from offchain.protocol import merkle
from offchain.scoring import pogg

ZERO32 = b"\x00" * 32


class Lottery(NamedTuple):
    """The lottery of one epoch, one entry per miner."""

    points: list  # (px, py) = SK_e · PK_miner
    seeds: list  # int, in [0, k) (k may exceed int64)
    winners: np.ndarray  # bool


def lottery(sk, entropy, pubkeys, ns, k):
    """
    ECDH points, seeds and winners (the twin of ``EpochKeys.seed`` / ``is_winner``).

    Parameters
    ----------
    sk : int
        ``SK_e``.
    entropy : bytes
        ``entropy_e`` (32 bytes).
    pubkeys : sequence of bytes
        Device public keys, 64 bytes each.
    ns : sequence of int
        Legal readings of each miner in the epoch.
    k : int
        Lottery odds ``K``.

    Returns
    -------
    Lottery
    """
    points = [pogg.ecdh_point(sk, pk) for pk in pubkeys]
    seeds = [pogg.seed(p[0], n, entropy, k) for p, n in zip(points, ns)]
    winners = np.array([int(n) > 0 and s == 0 for n, s in zip(ns, seeds)], dtype=bool)
    return Lottery(points, seeds, winners)


class Settlement(NamedTuple):
    """Amounts, leaves and proofs of an epoch's rows, and the root and total to post."""

    amounts: list  # [DECA wei] per row, 0 for a non-winner
    leaves: list  # 32-byte leaf per winner row, None otherwise
    proofs: list  # list of 32-byte siblings per winner row, [] otherwise
    root: bytes  # bytes32(0) without a winner
    total: int  # [DECA wei] Σ amounts


def settle(epoch, token_ids, winners, a_bps, q_bps, v_mwh, emission, k, reference):
    """
    Split the emission among the winners and build the Merkle tree of their leaves (pure).

    Parameters
    ----------
    epoch : int
    token_ids : sequence of int, shape ``(M,)``
    winners : array_like of bool, shape ``(M,)``
    a_bps, q_bps : array_like of int, shape ``(M,)`` [bps]
    v_mwh : array_like of int, shape ``(M,)`` [mWh] credited energy
    emission : int [DECA wei]
    k : int
        Lottery odds (``pogg.split``).
    reference : int
        ``pogg.reference_units`` of the scoring parameters.

    Returns
    -------
    Settlement
        Without a winner: no leaf, ``root = bytes32(0)``, ``total = 0``.
    """
    m = len(token_ids)
    winners = np.asarray(winners, dtype=bool).reshape(m)
    if m == 0:
        return Settlement([], [], [], ZERO32, 0)
    amounts, _ = pogg.split(winners, pogg.contribution_units(a_bps, q_bps, v_mwh), emission, k, reference)
    amounts = [int(x) for x in amounts]
    rows = np.flatnonzero(winners)
    leaves = [None] * m
    proofs = [[] for _ in range(m)]
    if rows.size == 0:
        return Settlement(amounts, leaves, proofs, ZERO32, 0)
    for i in rows:
        leaves[i] = merkle.leaf(epoch, token_ids[i], amounts[i], a_bps[i], q_bps[i], v_mwh[i])
    tree = merkle.build([leaves[i] for i in rows])
    for j, i in enumerate(rows):
        proofs[i] = merkle.proof(tree, j)
    return Settlement(amounts, leaves, proofs, tree.root, sum(amounts))
