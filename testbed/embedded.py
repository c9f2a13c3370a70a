"""The embedded test chain (ape's eth-tester provider) finding a transaction by its hash in one lookup.

eth-tester finds a transaction by walking back from the head, one decoded block at a time (its
own comment: "the chain should be able to look these up directly by hash"). A receipt then
costs a block per block mined since, and ``eth_getLogs`` reads a receipt for every transaction
in its range: reading events over the whole chain grew with the square of its length (the index
check of a four-miner demo day spent 62 % of the demo's time there). py-evm keeps the canonical
chain's hash → (block number, index) lookup; this reads it, and checks the answer against the
canonical block, so a transaction left behind by a snapshot revert is not found, as before.
"""

from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth_tester.backends.pyevm import main as pyevm_backend
from eth_tester.exceptions import TransactionNotFound
from eth_utils import encode_hex


def get_transaction_by_hash(chain, transaction_hash):
    """``(block, transaction, index)`` of a transaction in the block being built or the canonical chain."""
    pending = chain.get_block()
    for index, transaction in enumerate(pending.transactions):
        if transaction.hash == transaction_hash:
            return pending, transaction, index
    try:
        number, index = chain.chaindb.get_transaction_index(transaction_hash)
        if number <= chain.get_canonical_head().block_number:
            block = chain.get_canonical_block_by_number(number)
            if index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
                return block, block.transactions[index], index
    except (EvmTransactionNotFound, HeaderNotFound):
        pass
    raise TransactionNotFound(f"No transaction found for transaction hash: {encode_hex(transaction_hash)}")


def look_up_transactions_by_hash():
    """Make eth-tester's py-evm backend use :func:`get_transaction_by_hash` (idempotent)."""
    pyevm_backend._get_transaction_by_hash = get_transaction_by_hash
