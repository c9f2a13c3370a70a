"""Moving a local chain's clock: the embedded test chain, Anvil, or Ganache via ape's node provider."""

from ape.exceptions import APINotImplementedError


def advance(chain, seconds):
    """Let `seconds` pass on a local chain, then mine a block.

    Ape's embedded chain and Anvil take ``chain.pending_timestamp``; the generic node provider
    (used for Ganache) does not, so the ``evm_increaseTime`` RPC that Ganache understands is
    the fallback.
    """
    try:
        chain.pending_timestamp += seconds
        chain.mine()
    except APINotImplementedError:
        chain.provider.make_request("evm_increaseTime", [seconds])
        chain.provider.make_request("evm_mine", [])
