"""The embedded chain's lookups (testbed/embedded.py, installed by tests/conftest.py) answer as
eth-tester's own walk does: transactions of the canonical chain only, across snapshot reverts,
and accounts that follow the keys."""

import pytest
from ape_ethereum._print import extract_debug_logs
from ape_test.provider import EthTesterTransactionTrace
from eth_tester import EthereumTester
from eth_tester.backends.pyevm import main as pyevm_backend
from eth_tester.exceptions import TransactionNotFound
from hexbytes import HexBytes
from web3.providers.eth_tester import middleware as tester_middleware

from testbed import embedded


@pytest.fixture
def backend(chain):
    return chain.provider.evm_backend


def _found(backend, tx_hash):
    """``(block number, index)`` by the installed lookup and by eth-tester's walk (``None`` when not found)."""
    answers = []
    for lookup in (embedded.get_transaction_by_hash, _walk):
        try:
            block, _, index = lookup(backend.chain, bytes(HexBytes(tx_hash)))  # eth-tester passes bytes
            answers.append((block.number, index))
        except TransactionNotFound:
            answers.append(None)
    return answers


def _walk(chain, transaction_hash):
    """eth-tester's own search, block by block from the head (what the lookup replaces)."""
    head = chain.get_block()
    for number in range(head.number - 1, -1, -1):
        block = chain.get_canonical_block_by_number(number)
        for index, transaction in enumerate(block.transactions):
            if transaction.hash == transaction_hash:
                return block, transaction, index
    raise TransactionNotFound(transaction_hash.hex())


def test_install__the_backend_uses_the_lookup():
    assert pyevm_backend._get_transaction_by_hash is embedded.get_transaction_by_hash
    assert EthereumTester.get_accounts is embedded.get_accounts
    assert tester_middleware.guess_from is embedded.guess_from
    assert EthTesterTransactionTrace.debug_logs.fget is embedded.no_debug_logs


def test_no_debug_logs__a_transaction__none_as_ape_would_find_after_running_it_again(sbt, deployer, accounts):
    receipt = sbt.set_registry(accounts[5], sender=deployer)
    trace = receipt.trace
    assert isinstance(trace, EthTesterTransactionTrace)
    assert trace.debug_logs == [] and receipt.debug_logs_lines == []
    tree = trace.get_calltree()  # ape's own way: the transaction run again as a call, for its root only
    assert not tree.calls and list(extract_debug_logs(tree)) == []


def test_get_transaction_by_hash__across_a_snapshot_revert__as_the_walk(chain, backend, accounts):
    a, b = accounts[8], accounts[9]
    kept = a.transfer(b, 1).txn_hash
    snapshot = chain.snapshot()
    dropped = a.transfer(b, 2).txn_hash
    dropped_at = chain.blocks.head.number
    assert _found(backend, kept)[0] is not None and _found(backend, dropped)[0] == (dropped_at, 0)
    chain.restore(snapshot)
    assert _found(backend, dropped) == [None, None]  # its block is no longer canonical
    assert _found(backend, kept)[0] == _found(backend, kept)[1] is not None
    again = a.transfer(b, 3).txn_hash  # a new block at the dropped block's height
    assert chain.blocks.head.number == dropped_at
    assert _found(backend, again) == [(dropped_at, 0), (dropped_at, 0)]
    assert _found(backend, dropped) == [None, None]
    assert chain.provider.web3.eth.get_transaction_receipt(again)["blockNumber"] == dropped_at


def test_get_transaction_by_hash__unknown__not_found(backend):
    assert _found(backend, "0x" + "ab" * 32) == [None, None]


def test_get_accounts__the_chains_accounts_cached_until_one_is_added(chain):
    ours = chain.provider.tester.ethereum_tester
    assert ours.get_accounts() == embedded._derive_accounts(ours) and ours.get_accounts() is ours.get_accounts()
    tester = EthereumTester()  # its own: the chain's accounts stay as they are
    first = tester.get_accounts()
    assert first == embedded._derive_accounts(tester) and tester.get_accounts() is first
    tester.add_account("0x" + "42" * 32)
    grown = tester.get_accounts()
    assert grown == embedded._derive_accounts(tester) and len(grown) == len(first) + 1


def test_guess_from__the_first_account_as_web3_asks_it(chain):
    w3 = chain.provider.web3
    assert embedded.guess_from(w3, {}) == embedded._web3_guess_from(w3, {}) == w3.eth.accounts[0]
    assert embedded.guess_from(type("W3", (), {"provider": object(), "eth": w3.eth})(), {}) == w3.eth.accounts[0]
