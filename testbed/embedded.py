"""The embedded test chain (ape's eth-tester provider) without two costs that grow with its use.

Transactions by hash: eth-tester finds a transaction by walking back from the head, one
decoded block at a time (its own comment: "the chain should be able to look these up directly
by hash"). A receipt then costs a block per block mined since, and ``eth_getLogs`` reads a
receipt for every transaction in its range: reading events over the whole chain grew with the
square of its length (the index check of a four-miner demo day spent 62 % of the demo's time
there). py-evm keeps the canonical chain's hash → (block number, index) lookup;
:func:`get_transaction_by_hash` reads it, and checks the answer against the canonical block, so
a transaction left behind by a snapshot revert is not found, as before.

Accounts: web3 fills a call's missing ``from`` by asking for the node's accounts (up to three
times), and eth-tester derives and checksums every account's address at each ask: a third of
the time of a view call. :func:`get_accounts` keeps the answer until an account is added, and
:func:`guess_from` takes the first from the tester directly (web3's request for the list, its
formatters checksumming every address again, was a tenth of a four-miner demo's time).

Debug logs: after every transaction ape looks for the contracts' ``print`` output in the
transaction's call tree. On this chain the tree is only its root (eth-tester has no tracing), so
there is never any output, but building the root runs the transaction a second time as a call to
get its return data: a quarter of the relayer's ``submit_many`` time. :func:`install` makes the
embedded chain's traces answer "no debug logs" at once.
"""

from ape_test.provider import EthTesterTransactionTrace
from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth_tester import EthereumTester
from eth_tester.backends.pyevm import main as pyevm_backend
from eth_tester.exceptions import TransactionNotFound
from eth_utils import encode_hex
from web3.providers.eth_tester import middleware as tester_middleware

_derive_accounts = EthereumTester.get_accounts
_web3_guess_from = tester_middleware.guess_from


def get_transaction_by_hash(chain, transaction_hash):
    """``(block, transaction, index)`` of a transaction in the block being built or the canonical chain."""
    pending = chain.get_block()
    for index, transaction in enumerate(pending.transactions):
        if transaction.hash == transaction_hash:
            return pending, transaction, index
    try:
        number, index = chain.chaindb.get_transaction_index(bytes(transaction_hash))  # its key is made from bytes
        if number <= chain.get_canonical_head().block_number:
            block = chain.get_canonical_block_by_number(number)
            if index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
                return block, block.transactions[index], index
    except (EvmTransactionNotFound, HeaderNotFound):
        pass
    raise TransactionNotFound(f"No transaction found for transaction hash: {encode_hex(transaction_hash)}")


def get_accounts(tester):
    """The tester's checksummed accounts, derived again only when its backend's keys change."""
    keys = getattr(tester.backend, "account_keys", None)
    if keys is None:  # a backend that keeps its keys otherwise: no cache
        return _derive_accounts(tester)
    cached = tester.__dict__.get("_accounts_of_keys")
    if cached is None or cached[0] is not keys:  # add_account replaces the keys tuple
        cached = tester.__dict__["_accounts_of_keys"] = (keys, _derive_accounts(tester))
    return cached[1]


def guess_from(w3, transaction):
    """web3's default ``from`` of a call: the tester's first account, asked of the tester itself."""
    tester = getattr(w3.provider, "ethereum_tester", None)
    if tester is None:  # not an eth-tester provider: web3's own way
        return _web3_guess_from(w3, transaction)
    accounts = tester.get_accounts()
    return accounts[0] if accounts else None


def no_debug_logs(trace):
    """The ``print`` output of an embedded-chain transaction: none (its call tree is only its root)."""
    return []


def install():
    """Make eth-tester use :func:`get_transaction_by_hash` and :func:`get_accounts`, web3 :func:`guess_from`, and the
    embedded chain's traces :func:`no_debug_logs` (idempotent)."""
    pyevm_backend._get_transaction_by_hash = get_transaction_by_hash
    EthereumTester.get_accounts = get_accounts
    tester_middleware.guess_from = guess_from
    EthTesterTransactionTrace.debug_logs = property(no_debug_logs)
