"""Anvil as the demo runs it, without two waits that ape and web3 build in.

Step tracing: ape-foundry always starts ``anvil --steps-tracing``, which records every EVM step
for ape's call trees. The demo never reads a trace, and with it Anvil took about 2 s to run an
hour's ``submit_many`` of 50 batches (a 50-miner day: 2 m 17 s with it, 1 m 15 s without).

Receipt polling: ape waits for each receipt with web3's ``wait_for_transaction_receipt``. Anvil
mines a transaction just after it answers the send, so the first ask usually finds no receipt
and web3 sleeps its default 0.1 s: a tenth of a second for every transaction (a 50-miner day:
1 m 15 s, then 56 s asking every 5 ms).

Past states: the auditor reads a parameter as it was in the block of an epoch's post. Anvil keeps
the states of a limited number of past blocks, and a 50-miner week has about 12,000: the demo asks
it to keep :data:`KEPT_STATES`.

:func:`install` must run before ape connects to the network (ape-foundry starts Anvil then).
"""

from ape_foundry.provider import FoundryProvider
from web3.eth import Eth

POLL_SECONDS = 0.005  # [s] between two asks for a receipt
KEPT_STATES = 100_000  # past blocks whose state Anvil keeps (on disk): the auditor reads the week's first posts

_build_command = FoundryProvider.build_command
_wait_for_receipt = Eth.wait_for_transaction_receipt


def build_command(provider):
    """ape-foundry's command line for Anvil without ``--steps-tracing``, keeping :data:`KEPT_STATES` states."""
    return [arg for arg in _build_command(provider) if arg != "--steps-tracing"] + [
        "--max-persisted-states", str(KEPT_STATES)]


def wait_for_transaction_receipt(eth, transaction_hash, timeout=120, poll_latency=POLL_SECONDS):
    """web3's wait for a receipt, asking every :data:`POLL_SECONDS` (whatever the caller's latency)."""
    return _wait_for_receipt(eth, transaction_hash, timeout, min(poll_latency, POLL_SECONDS))


def install():
    """Start Anvil without step tracing and poll receipts every :data:`POLL_SECONDS` (idempotent)."""
    FoundryProvider.build_command = build_command
    Eth.wait_for_transaction_receipt = wait_for_transaction_receipt
