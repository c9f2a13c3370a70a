# pragma version ~=0.4.3
"""
@title EnergyToken: ENERGY, one base unit per mWh held in a storage node
@license MIT
@notice A snekmate ERC-20 (6 decimals, so 1.0 ENERGY = 1 kWh) with EIP-2612
        permit. Only minters named by the owner (the TechnicalDAO) may mint:
        the payment desk, when the DAO approves a payment for delivered
        energy. Tokens are destroyed only when energy leaves a node: the
        burners the owner names (the storage nodes) burn what they hold in
        escrow for a filled request. Holders cannot burn, so the supply is
        always the energy tokenized in the nodes.
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
    erc20.decimals,
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.mint,
    erc20.is_minter,
    erc20.set_minter,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Deliberately not exported: symbol (snekmate's holds 5 characters; see
    # `symbol` below), burn and burn_from (only energy taken out of
    # a node destroys ENERGY, see `burn`), renounce_ownership (the DAO must
    # stay owner).
)


# ============================== EVENTS ==============================

event BurnerSet:
    burner: indexed(address)
    status: bool


# ============================== STORAGE =============================

is_burner: public(HashMap[address, bool])


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__():
    ow.__init__()
    erc20.__init__("Energy", "ENRGY", 6, "Energy", "1")


# ============================= EXTERNAL =============================

@external
@view
def symbol() -> String[6]:
    """
    @notice The token's symbol, "ENERGY" (snekmate's own field holds five
            characters, so this view replaces it).
    @return The symbol.
    """
    return "ENERGY"


@external
def burn(amount: uint256):
    """
    @notice Destroy `amount` of the caller's own ENERGY: energy in mWh that
            has left a storage node. Only burners (the storage nodes) may.
    @param amount Energy in mWh (ENERGY base units).
    """
    assert self.is_burner[msg.sender], "energy: not a burner"
    erc20._burn(msg.sender, amount)


@external
def set_burner(burner: address, status: bool):
    """
    @notice Name or remove a burner (a storage-node contract). Owner only.
    @param burner The contract that may burn its own ENERGY.
    @param status True to allow, False to revoke.
    """
    assert msg.sender == ow.owner, "energy: only the DAO"
    assert burner != empty(address), "energy: zero address"
    self.is_burner[burner] = status
    log BurnerSet(burner=burner, status=status)
