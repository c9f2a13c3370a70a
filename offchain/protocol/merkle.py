"""Merkle trees of an epoch's reward table and of its certificates, verifiable by snekmate's
``merkle_proof_verification``.

Leaf of one row (docs/architecture.md, PoGG)::

    leaf = keccak256(keccak256(abi.encode(uint64 epoch, uint256 token_id, uint256 amount,
                                          uint16 a_bps, uint16 q_bps, uint256 v_mwh)))

hashed twice, as in OpenZeppelin's ``StandardMerkleTree``: a leaf is then never the
keccak of 64 bytes, so an inner node cannot pass for a leaf (second preimage).

Tree: the layout of OpenZeppelin's ``@openzeppelin/merkle-tree`` (``makeMerkleTree`` with
``sortLeaves: true``), so its JavaScript library gives the same root for the same rows:

- leaves sorted by hash (ascending as 256-bit integers), which makes the root independent
  of the order the rows are given in;
- a flat array of ``2n - 1`` nodes, the root at 0, the children of node ``i`` at
  ``2i + 1`` and ``2i + 2``, the sorted leaves at the end in reverse order;
- an inner node is ``keccak256(min(a, b) ‖ max(a, b))`` (pairs sorted), exactly snekmate's
  ``_hash_pair``, so a proof is just the list of siblings, leaf to root.

One leaf: the root is the leaf and the proof is empty. Odd counts need no padding: the
array layout leaves no node without a sibling except the root.
"""

from typing import NamedTuple

from eth_utils import keccak

UINT_BITS = {"uint64": 64, "uint256": 256, "uint16": 16}
LEAF_TYPES = ("uint64", "uint256", "uint256", "uint16", "uint16", "uint256")
LEAF_FIELDS = ("epoch", "token_id", "amount", "a_bps", "q_bps", "v_mwh")
CERTIFICATE_TYPES = ("uint64", "uint256", "uint256")
CERTIFICATE_FIELDS = ("epoch", "token_id", "mwh")


def _encode(fields, types, values):
    """``abi.encode`` of unsigned integers: one 32-byte big-endian word each.

    Raises
    ------
    ValueError
        If a value is negative or does not fit its type.
    """
    words = []
    for name, kind, value in zip(fields, types, values):
        value = int(value)
        if not 0 <= value < 1 << UINT_BITS[kind]:
            raise ValueError("merkle: %s does not fit %s" % (name, kind))
        words.append(value.to_bytes(32, "big"))
    return b"".join(words)


def encode_leaf(epoch, token_id, amount, a_bps, q_bps, v_mwh):
    """``abi.encode(uint64 epoch, uint256 token_id, uint256 amount, uint16 a_bps,
    uint16 q_bps, uint256 v_mwh)``: six 32-byte big-endian words.

    Parameters
    ----------
    epoch : int [epoch]
    token_id : int
        The miner's SBT id.
    amount : int [DECA wei]
    a_bps, q_bps : int [bps]
    v_mwh : int [mWh] credited energy of the epoch

    Returns
    -------
    bytes
        192 bytes.

    Raises
    ------
    ValueError
        If a value is negative or does not fit its type.
    """
    return _encode(LEAF_FIELDS, LEAF_TYPES, (epoch, token_id, amount, a_bps, q_bps, v_mwh))


def certificate_leaf(epoch, token_id, mwh):
    """Leaf hash of one certificate row (GreenCertificate)::

        keccak256(keccak256(abi.encode(uint64 epoch, uint256 token_id, uint256 mwh)))

    Raises
    ------
    ValueError
        If a value is negative or does not fit its type.
    """
    return keccak(keccak(_encode(CERTIFICATE_FIELDS, CERTIFICATE_TYPES, (epoch, token_id, mwh))))


def leaf(epoch, token_id, amount, a_bps, q_bps, v_mwh):
    """Leaf hash of one row: ``keccak256(keccak256(encode_leaf(...)))``.

    Parameters
    ----------
    epoch, token_id, amount, a_bps, q_bps, v_mwh : int
        See ``encode_leaf``.

    Returns
    -------
    bytes
        32 bytes.
    """
    return keccak(keccak(encode_leaf(epoch, token_id, amount, a_bps, q_bps, v_mwh)))


def hash_pair(a, b):
    """``keccak256`` of the two hashes in ascending order (snekmate's ``_hash_pair``)."""
    return keccak(a + b) if a < b else keccak(b + a)


class Tree(NamedTuple):
    """A built tree: ``nodes[0]`` is the root; ``position[i]`` is the node of input leaf i."""

    nodes: list
    position: list

    @property
    def root(self):
        return self.nodes[0]


def build(leaves):
    """Build the tree of leaf hashes (OpenZeppelin ``StandardMerkleTree`` layout).

    Parameters
    ----------
    leaves : sequence of bytes
        32-byte leaf hashes (``leaf``), in any order; at least one.

    Returns
    -------
    Tree
        ``tree.root`` is the Merkle root (bytes32).
    """
    leaves = [bytes(x) for x in leaves]
    if not leaves:
        raise ValueError("merkle: no leaves")
    if any(len(x) != 32 for x in leaves):
        raise ValueError("merkle: a leaf must be 32 bytes")
    n = len(leaves)
    order = sorted(range(n), key=lambda i: leaves[i])  # bytes compare = uint256 compare
    nodes = [b""] * (2 * n - 1)
    position = [0] * n
    for rank, i in enumerate(order):
        position[i] = 2 * n - 2 - rank
        nodes[position[i]] = leaves[i]
    for i in range(n - 2, -1, -1):
        nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
    return Tree(nodes, position)


def root(leaves):
    """Merkle root of the leaves (see ``build``)."""
    return build(leaves).root


def proof(tree, index):
    """Sibling hashes from input leaf ``index`` up to the root.

    Parameters
    ----------
    tree : Tree
    index : int
        Position of the leaf in the sequence given to ``build``.

    Returns
    -------
    list of bytes
        What ``RewardDistributor`` passes to ``merkle_proof_verification._verify``.
    """
    node = tree.position[index]
    path = []
    while node > 0:
        sibling = node - 1 if node % 2 == 0 else node + 1
        path.append(tree.nodes[sibling])
        node = (node - 1) // 2
    return path


def verify(proof, root, leaf):
    """Python twin of snekmate's ``merkle_proof_verification._verify``.

    Parameters
    ----------
    proof : sequence of bytes
        Sibling hashes, leaf to root.
    root : bytes
        32-byte Merkle root.
    leaf : bytes
        32-byte leaf hash.

    Returns
    -------
    bool
    """
    computed = bytes(leaf)
    for sibling in proof:
        computed = hash_pair(computed, bytes(sibling))
    return computed == bytes(root)
