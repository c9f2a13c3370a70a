"""Merkle tree of the reward table: proofs checked by snekmate's own Vyper code on py-evm."""

import pathlib

import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.protocol import merkle

VERIFIER_SOURCE = """# pragma version ~=0.4.3
from snekmate.utils import merkle_proof_verification

@external
@pure
def verify(proof: DynArray[bytes32, 255], root: bytes32, leaf: bytes32) -> bool:
    return merkle_proof_verification._verify(proof, root, leaf)
"""


@pytest.fixture(scope="module")
def snekmate_verify():
    """``merkle_proof_verification._verify`` of snekmate 0.1.2, compiled and run on py-evm."""
    import snekmate
    from eth_tester import EthereumTester, PyEVMBackend
    from vyper.compiler import compile_code
    from vyper.compiler.input_bundle import FilesystemInputBundle

    site = pathlib.Path(list(snekmate.__path__)[0]).parent
    out = compile_code(VERIFIER_SOURCE, input_bundle=FilesystemInputBundle([site]),
                       output_formats=["bytecode"])
    chain = EthereumTester(PyEVMBackend())
    sender = chain.get_accounts()[0]
    tx = chain.send_transaction({"from": sender, "data": out["bytecode"], "gas": 3_000_000})
    address = chain.get_transaction_receipt(tx)["contract_address"]
    selector = function_signature_to_4byte_selector("verify(bytes32[],bytes32,bytes32)")

    def verify(proof, root, leaf):
        data = selector + encode(["bytes32[]", "bytes32", "bytes32"], [proof, root, leaf])
        result = chain.call({"from": sender, "to": address, "data": "0x" + data.hex()})
        return decode(["bool"], bytes.fromhex(result[2:]))[0]

    return verify


def _rows(n, epoch=7):
    return [(epoch, 1000 + i, 10**18 * (i + 1) + i, (i * 37) % 10_001, (i * 91) % 10_001, i**3)
            for i in range(n)]


def _leaves(rows):
    return [merkle.leaf(*row) for row in rows]


def test_leaf__row__double_keccak_of_abi_encoding():
    row = (5, 2**200, 3 * 10**18, 9_999, 313, 1_259)
    encoded = encode(list(merkle.LEAF_TYPES), list(row))

    assert merkle.encode_leaf(*row) == encoded
    assert merkle.leaf(*row) == keccak(keccak(encoded))


@pytest.mark.parametrize(
    "row",
    [(2**64, 1, 1, 1, 1, 1), (1, 1, 1, 2**16, 1, 1), (1, 1, 1, 1, -1, 1), (1, 2**256, 1, 1, 1, 1)],
)
def test_leaf__value_does_not_fit_its_type__raises(row):
    with pytest.raises(ValueError, match="merkle: .* does not fit"):
        merkle.leaf(*row)


def test_build__one_leaf__root_is_leaf_and_proof_empty(snekmate_verify):
    (only,) = _leaves(_rows(1))

    tree = merkle.build([only])

    assert tree.root == only
    assert merkle.proof(tree, 0) == []
    assert merkle.verify([], tree.root, only)
    assert snekmate_verify([], tree.root, only)


def test_build__two_leaves__root_is_sorted_pair_hash():
    a, b = _leaves(_rows(2))

    expected = keccak(min(a, b) + max(a, b))

    assert merkle.root([a, b]) == expected
    assert merkle.root([b, a]) == expected


def test_build__three_leaves__openzeppelin_layout():
    leaves = _leaves(_rows(3))
    s = sorted(leaves)
    # OZ makeMerkleTree: tree[len - 1 - i] = sorted[i], tree[i] = hash(tree[2i+1], tree[2i+2])
    # so tree = [root, node1, s2, s1, s0], node1 = hash(s1, s0), root = hash(node1, s2)
    node1 = merkle.hash_pair(s[1], s[0])

    tree = merkle.build(leaves)

    assert tree.nodes == [merkle.hash_pair(node1, s[2]), node1, s[2], s[1], s[0]]
    assert merkle.proof(tree, leaves.index(s[0])) == [s[1], s[2]]


def test_build__any_order__same_root():
    leaves = _leaves(_rows(11))

    assert merkle.root(leaves) == merkle.root(leaves[::-1]) == merkle.root(sorted(leaves))


@pytest.mark.parametrize("n", range(1, 51))
def test_proof__every_leaf_of_n__verifies_in_python_and_in_snekmate(n, snekmate_verify):
    leaves = _leaves(_rows(n))
    tree = merkle.build(leaves)

    for i, lf in enumerate(leaves):
        p = merkle.proof(tree, i)
        assert len(p) <= (n - 1).bit_length()
        assert merkle.verify(p, tree.root, lf)
        if n <= 17 or i % 7 == 0:  # snekmate on the EVM: a sample of the larger trees
            assert snekmate_verify(p, tree.root, lf)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 13, 50])
def test_verify__tampered_leaf__fails_in_python_and_in_snekmate(n, snekmate_verify):
    rows = _rows(n)
    tree = merkle.build(_leaves(rows))
    epoch, token, amount, a, q, v = rows[n // 2]
    forged = merkle.leaf(epoch, token, amount + 1, a, q, v)  # one wei more
    p = merkle.proof(tree, n // 2)

    assert not merkle.verify(p, tree.root, forged)
    assert not snekmate_verify(p, tree.root, forged)


@pytest.mark.parametrize("n", [2, 3, 8, 13, 50])
def test_verify__tampered_proof__fails_in_python_and_in_snekmate(n, snekmate_verify):
    leaves = _leaves(_rows(n))
    tree = merkle.build(leaves)
    i = n - 1
    p = merkle.proof(tree, i)
    bad = list(p)
    bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]

    assert not merkle.verify(bad, tree.root, leaves[i])
    assert not snekmate_verify(bad, tree.root, leaves[i])
    assert not merkle.verify(p[:-1], tree.root, leaves[i])  # truncated


def test_verify__inner_node_as_leaf__fails():
    # the double hash: an inner node is not a valid leaf of its own tree
    leaves = _leaves(_rows(4))
    tree = merkle.build(leaves)
    inner = tree.nodes[1]

    assert not merkle.verify([tree.nodes[2]], tree.root, keccak(keccak(inner)))


def test_verify__proof_of_another_epoch__fails():
    tree7 = merkle.build(_leaves(_rows(5, epoch=7)))
    leaves8 = _leaves(_rows(5, epoch=8))

    assert not merkle.verify(merkle.proof(tree7, 2), tree7.root, leaves8[2])


def test_build__no_leaves__raises():
    with pytest.raises(ValueError, match="merkle: no leaves"):
        merkle.build([])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_proof__any_leaves__every_proof_verifies(leaves):
    tree = merkle.build(leaves)

    assert all(merkle.verify(merkle.proof(tree, i), tree.root, x) for i, x in enumerate(leaves))
