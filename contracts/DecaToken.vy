# pragma version ~=0.4.3
"""
@title DecaToken: the DECA reward token (18 decimals)
@license MIT
@notice A snekmate ERC-20 with EIP-2612 permit. Only minters named by the
        owner (the TechnicalDAO) may mint: the reward distributor and the
        payment desk. Holders may burn their own tokens.
"""

from snekmate.auth import ownable as ow
from snekmate.tokens import erc20

initializes: ow
initializes: erc20[ownable := ow]

exports: (
    erc20.owner,
    erc20.transfer_ownership,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.burn,
    erc20.burn_from,
    erc20.mint,
    erc20.is_minter,
    erc20.set_minter,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Deliberately not exported: renounce_ownership (the DAO must stay owner).
)


@deploy
def __init__():
    ow.__init__()
    erc20.__init__("Deca", "DECA", 18, "Deca", "1")
