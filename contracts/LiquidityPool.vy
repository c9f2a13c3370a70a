# pragma version ~=0.4.3
"""
@title LiquidityPool: the DECA/ENERGY constant-product pool and its LP token
@license MIT
@notice A Uniswap V2 pair and its router in one contract. The pool is itself
        the LP token ("DECA/ENERGY LP", DELP, 18 decimals, EIP-2612 permit;
        the same contract pairs DECA with the green certificate, GEC, as
        "DECA/GEC LP", DGLP):
        shares are minted by `add_liquidity` and burned by
        `remove_liquidity` only. Swaps pay a fee (`fee_bps`, 0.3 % by
        default, at most 1 %) that stays in the pool; a share of the fee
        growth (`vault_share_bps`, 1/6 by default) is minted as LP shares to
        the DAO's vault on the next add or remove, as Uniswap V2's fee
        switch does (via `k_last`). The first deposit locks
        MINIMUM_LIQUIDITY shares forever at 0x…dEaD. Every call takes a
        deadline and a minimum out (or maximum in). The cumulative price
        (`cumulative_prices`) gives a time-weighted average price between
        any two observations. Order everywhere: DECA first, ENERGY second.
        Units: DECA in wei (18 decimals), ENERGY in base units (1 = 1 mWh).
@custom:security (1) The pool tracks its reserves apart from its balances and
        moves them by exactly the amounts it computes: tokens sent to it
        directly (donations) are not counted until `sync` (which gives them
        to the LP holders) or are sent away by `skim`. This is sound for
        DECA and ENERGY (snekmate ERC-20s: no fee on transfer, no rebasing,
        no hooks); the pool is not meant for other tokens.
        (2) State is written before any token is moved, and every
        state-changing function is `@nonreentrant`; the views read only
        settled state.
        (3) The spot price can be moved within a block by a large swap: a
        consumer that needs a price should use a TWAP from
        `cumulative_prices` over a window of its choosing.
        (4) Reserves are capped at 2**112 − 1 and the timestamp kept in
        32 bits, which holds until the year 2106.
        (5) The owner (the TechnicalDAO) sets the fee (≤ 1 %), the vault's
        share of the fee growth (≤ 50 %), the vault and the seeder; it cannot
        move the pool's tokens.
        (6) The first deposit, which sets the price and the size of a share,
        is the DAO's: only the owner or the seeder it names (the PaymentDesk,
        which deposits a payment at the price the DAO voted) may make it. A
        stranger who made it could donate to the pool so that one share is
        worth more than a later depositor's rounding can bear; after a
        deposit of the DAO's, a donation only enriches the LP holders.
"""

from ethereum.ercs import IERC20

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
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Deliberately not exported: mint, set_minter, is_minter, burn and
    # burn_from (shares are minted and burned only by add_liquidity and
    # remove_liquidity, against the reserves), renounce_ownership (the DAO
    # must stay owner).
)


# ============================== EVENTS ==============================

event Mint:
    sender: indexed(address)
    to: indexed(address)
    deca: uint256  # DECA wei added
    energy: uint256  # ENERGY base units added
    shares: uint256  # LP shares minted to `to`

event Burn:
    sender: indexed(address)
    to: indexed(address)
    deca: uint256  # DECA wei paid out
    energy: uint256  # ENERGY base units paid out
    shares: uint256  # LP shares burned

event Swap:
    sender: indexed(address)
    to: indexed(address)
    token_in: indexed(address)
    amount_in: uint256  # of token_in, base units
    amount_out: uint256  # of the other token, base units

event Sync:
    reserve_deca: uint256  # DECA wei
    reserve_energy: uint256  # ENERGY base units

event VaultShareMinted:
    vault: indexed(address)
    shares: uint256  # LP shares minted to the vault

event ParameterChanged:
    name: String[32]
    value: uint256

event VaultChanged:
    vault: indexed(address)

event SeederChanged:
    seeder: indexed(address)


# ============================= CONSTANTS ============================

BPS: constant(uint256) = 10_000  # 100 %
MAX_FEE_BPS: public(constant(uint256)) = 100  # 1 %
MAX_VAULT_SHARE_BPS: public(constant(uint256)) = 5_000  # 50 % of the fee growth
MINIMUM_LIQUIDITY: public(constant(uint256)) = 1_000  # shares locked at the first deposit
DEAD: constant(address) = 0x000000000000000000000000000000000000dEaD  # holds the locked shares
PRICE_SCALE: constant(uint256) = 10**18  # prices are scaled by 1e18

# Reserves word, from bit 0: DECA 112 | ENERGY 112 | timestamp 32
MAX_RESERVE: constant(uint256) = 2**112 - 1
RES_ENERGY: constant(uint256) = 112
RES_TIME: constant(uint256) = 224
MASK_112: constant(uint256) = 2**112 - 1


# ============================== STORAGE =============================

DECA: public(immutable(address))
ENERGY: public(immutable(address))

# One word for what every swap reads and writes (see "Reserves word").
_reserves: uint256

fee_bps: public(uint256)  # swap fee, of the amount in
vault_share_bps: public(uint256)  # vault's share of the fee growth (of √k)
vault: public(address)  # the DAO's treasury
seeder: public(address)  # may make the first deposit, besides the owner (the PaymentDesk)
k_last: public(uint256)  # reserve_deca · reserve_energy after the last add/remove (0 when the share is off)

# Σ price · Δt, price of the reserves before each change in a block:
# DECA wei per ENERGY base unit × 1e18 (≤ 2**112 · 1e18 < 2**172). It grows
# by less than 2**172 per second, so it cannot overflow a uint256 for 2**84 s.
# One accumulator only (no inverse price): the payment desk prices ENERGY in
# DECA, and a second word written per block would cost a swap about 5k gas.
price_deca_cumulative: public(uint256)  # DECA wei per ENERGY unit × 1e18 × s


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(deca: address, energy: address, vault: address, fee_bps: uint256, vault_share_bps: uint256,
             lp_name: String[25], lp_symbol: String[5]):
    """
    @param deca The DECA token.
    @param energy The ENERGY token (or GEC, in the certificate pool: the
           same maths for any plain snekmate ERC-20 second token).
    @param vault The DAO's treasury, which receives the vault share.
    @param fee_bps Swap fee in bps of the amount in, at most 100 (default 30).
    @param vault_share_bps Vault's share of the fee growth in bps, at most
           5 000 (default 1 667, Uniswap V2's 1/6).
    @param lp_name The LP token's name (and EIP-712 name): "DECA/ENERGY LP".
    @param lp_symbol The LP token's symbol: "DELP".
    """
    ow.__init__()
    erc20.__init__(lp_name, lp_symbol, 18, lp_name, "1")
    assert deca != empty(address) and energy != empty(address), "pool: zero address"
    assert deca != energy, "pool: bad token"
    DECA = deca
    ENERGY = energy
    self._set_fee_bps(fee_bps)
    self._set_vault_share_bps(vault_share_bps)
    self._set_vault(vault)


# ============================= EXTERNAL =============================

@external
@nonreentrant
def add_liquidity(
    deca_desired: uint256,
    energy_desired: uint256,
    deca_min: uint256,
    energy_min: uint256,
    to: address,
    deadline: uint256,
) -> (uint256, uint256, uint256):
    """
    @notice Add liquidity at the pool's ratio and mint the shares to `to`.
            Pulls the amounts used from the caller. The first deposit sets
            the ratio; only the owner (the DAO) or its seeder may make it.
    @param deca_desired At most this many DECA wei.
    @param energy_desired At most this many ENERGY base units (mWh).
    @param deca_min At least this many DECA wei must be used.
    @param energy_min At least this many ENERGY base units must be used.
    @param to Receives the LP shares.
    @param deadline Latest block timestamp [s].
    @return DECA wei used, ENERGY base units used, LP shares minted.
    """
    assert block.timestamp <= deadline, "pool: expired"
    assert to != empty(address), "pool: zero address"
    word: uint256 = self._reserves
    rd: uint256 = word & MASK_112
    re: uint256 = (word >> RES_ENERGY) & MASK_112
    supply: uint256 = self._mint_vault_share(rd, re)
    assert supply != 0 or msg.sender == ow.owner or msg.sender == self.seeder, "pool: the first deposit is the DAO's"
    d: uint256 = 0
    e: uint256 = 0
    shares: uint256 = 0
    d, e, shares = self._quote_add(deca_desired, energy_desired, rd, re, supply)
    assert d >= deca_min, "pool: insufficient deca"
    assert e >= energy_min, "pool: insufficient energy"
    assert shares > 0, "pool: insufficient shares minted"
    if supply == 0:
        erc20._mint(DEAD, MINIMUM_LIQUIDITY)
    rd += d
    re += e
    self._update(rd, re, word)
    self._set_k_last(rd, re)
    erc20._mint(to, shares)
    assert extcall IERC20(DECA).transferFrom(msg.sender, self, d, default_return_value=True)
    assert extcall IERC20(ENERGY).transferFrom(msg.sender, self, e, default_return_value=True)
    log Mint(sender=msg.sender, to=to, deca=d, energy=e, shares=shares)
    return d, e, shares


@external
@nonreentrant
def remove_liquidity(
    shares: uint256, deca_min: uint256, energy_min: uint256, to: address, deadline: uint256
) -> (uint256, uint256):
    """
    @notice Burn `shares` of the caller's LP shares and pay their part of the
            reserves to `to`.
    @param shares LP shares to burn.
    @param deca_min At least this many DECA wei must be paid.
    @param energy_min At least this many ENERGY base units must be paid.
    @param to Receives the tokens.
    @param deadline Latest block timestamp [s].
    @return DECA wei paid, ENERGY base units paid.
    """
    assert block.timestamp <= deadline, "pool: expired"
    assert shares > 0, "pool: zero amount"
    assert to != empty(address), "pool: zero address"
    assert erc20.balanceOf[msg.sender] >= shares, "pool: insufficient shares"
    word: uint256 = self._reserves
    rd: uint256 = word & MASK_112
    re: uint256 = (word >> RES_ENERGY) & MASK_112
    supply: uint256 = self._mint_vault_share(rd, re)
    d: uint256 = 0
    e: uint256 = 0
    d, e = self._quote_remove(shares, rd, re, supply)
    assert d > 0 and e > 0, "pool: insufficient liquidity burned"
    assert d >= deca_min, "pool: insufficient deca"
    assert e >= energy_min, "pool: insufficient energy"
    erc20._burn(msg.sender, shares)
    # d ≤ rd and e ≤ re: shares ≤ supply.
    rd = unsafe_sub(rd, d)
    re = unsafe_sub(re, e)
    self._update(rd, re, word)
    self._set_k_last(rd, re)
    assert extcall IERC20(DECA).transfer(to, d, default_return_value=True)
    assert extcall IERC20(ENERGY).transfer(to, e, default_return_value=True)
    log Burn(sender=msg.sender, to=to, deca=d, energy=e, shares=shares)
    return d, e


@external
@nonreentrant
def swap_exact_in(token_in: address, amount_in: uint256, min_out: uint256, to: address, deadline: uint256) -> uint256:
    """
    @notice Sell exactly `amount_in` of `token_in` for the other token.
    @param token_in DECA or ENERGY.
    @param amount_in Base units of token_in (DECA wei or ENERGY mWh).
    @param min_out At least this many base units of the other token.
    @param to Receives the output.
    @param deadline Latest block timestamp [s].
    @return Base units of the other token paid to `to`.
    """
    assert block.timestamp <= deadline, "pool: expired"
    assert amount_in > 0, "pool: zero amount"
    assert to != empty(address), "pool: zero address"
    deca_in: bool = self._side(token_in)
    word: uint256 = self._reserves
    r_in: uint256 = 0
    r_out: uint256 = 0
    r_in, r_out = self._oriented(word, deca_in)
    amount_out: uint256 = self._amount_out(amount_in, r_in, r_out, self.fee_bps)
    assert amount_out > 0 and amount_out >= min_out, "pool: insufficient output"
    # amount_out < r_out (see _amount_out).
    self._swap(word, deca_in, token_in, r_in + amount_in, unsafe_sub(r_out, amount_out), amount_in, amount_out, to)
    return amount_out


@external
@nonreentrant
def swap_exact_out(token_in: address, amount_out: uint256, max_in: uint256, to: address, deadline: uint256) -> uint256:
    """
    @notice Buy exactly `amount_out` of the other token with `token_in`.
    @param token_in DECA or ENERGY.
    @param amount_out Base units of the other token to receive.
    @param max_in At most this many base units of token_in.
    @param to Receives the output.
    @param deadline Latest block timestamp [s].
    @return Base units of token_in taken from the caller.
    """
    assert block.timestamp <= deadline, "pool: expired"
    assert amount_out > 0, "pool: zero amount"
    assert to != empty(address), "pool: zero address"
    deca_in: bool = self._side(token_in)
    word: uint256 = self._reserves
    r_in: uint256 = 0
    r_out: uint256 = 0
    r_in, r_out = self._oriented(word, deca_in)
    amount_in: uint256 = self._amount_in(amount_out, r_in, r_out, self.fee_bps)
    assert amount_in <= max_in, "pool: excessive input"
    # amount_out < r_out (checked in _amount_in).
    self._swap(word, deca_in, token_in, r_in + amount_in, unsafe_sub(r_out, amount_out), amount_in, amount_out, to)
    return amount_in


@external
@nonreentrant
def sync():
    """
    @notice Set the reserves to the balances: tokens sent to the pool
            directly become the LP holders'.
    """
    rd: uint256 = staticcall IERC20(DECA).balanceOf(self)
    re: uint256 = staticcall IERC20(ENERGY).balanceOf(self)
    self._update(rd, re, self._reserves)
    log Sync(reserve_deca=rd, reserve_energy=re)


@external
@nonreentrant
def skim(to: address):
    """
    @notice Send the balances above the reserves (tokens sent to the pool
            directly) to `to`.
    @param to Receives the excess.
    """
    assert to != empty(address), "pool: zero address"
    word: uint256 = self._reserves
    # Balances never fall below the reserves: tokens leave only by the
    # amounts taken off the reserves.
    d: uint256 = staticcall IERC20(DECA).balanceOf(self) - (word & MASK_112)
    e: uint256 = staticcall IERC20(ENERGY).balanceOf(self) - ((word >> RES_ENERGY) & MASK_112)
    if d > 0:
        assert extcall IERC20(DECA).transfer(to, d, default_return_value=True)
    if e > 0:
        assert extcall IERC20(ENERGY).transfer(to, e, default_return_value=True)


@external
@nonreentrant
def set_fee_bps(fee_bps: uint256):
    """
    @notice Set the swap fee. Owner (the DAO) only.
    @param fee_bps Fee in bps of the amount in, at most MAX_FEE_BPS (1 %).
    """
    assert msg.sender == ow.owner, "pool: only the DAO"
    self._set_fee_bps(fee_bps)


@external
@nonreentrant
def set_vault_share_bps(vault_share_bps: uint256):
    """
    @notice Set the vault's share of the fee growth; the share accrued so far
            is first minted at the old rate. Owner (the DAO) only.
    @param vault_share_bps Share in bps, at most MAX_VAULT_SHARE_BPS (50 %).
    """
    assert msg.sender == ow.owner, "pool: only the DAO"
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    self._mint_vault_share(rd, re)
    self._set_vault_share_bps(vault_share_bps)
    self._set_k_last(rd, re)


@external
def set_seeder(seeder: address):
    """
    @notice Name who may make the first deposit besides the owner (the
            PaymentDesk, which seeds at the price the DAO votes). Owner (the
            DAO) only.
    @param seeder Its address (zero: the owner only).
    """
    assert msg.sender == ow.owner, "pool: only the DAO"
    self.seeder = seeder
    log SeederChanged(seeder=seeder)


@external
@nonreentrant
def set_vault(vault: address):
    """
    @notice Set the vault; the share accrued so far is first minted to the
            old one. Owner (the DAO) only.
    @param vault The DAO's treasury.
    """
    assert msg.sender == ow.owner, "pool: only the DAO"
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    self._mint_vault_share(rd, re)
    self._set_k_last(rd, re)
    self._set_vault(vault)


@external
@view
def reserves() -> (uint256, uint256, uint256):
    """
    @notice The reserves and the time of their last change.
    @return DECA wei, ENERGY base units, timestamp [s].
    """
    word: uint256 = self._reserves
    return word & MASK_112, (word >> RES_ENERGY) & MASK_112, word >> RES_TIME


@external
@view
def get_amount_out(token_in: address, amount_in: uint256) -> uint256:
    """
    @notice What `swap_exact_in` pays now for `amount_in` of `token_in`.
    @param token_in DECA or ENERGY.
    @param amount_in Base units of token_in.
    @return Base units of the other token.
    """
    r_in: uint256 = 0
    r_out: uint256 = 0
    r_in, r_out = self._oriented(self._reserves, self._side(token_in))
    return self._amount_out(amount_in, r_in, r_out, self.fee_bps)


@external
@view
def get_amount_in(token_in: address, amount_out: uint256) -> uint256:
    """
    @notice What `swap_exact_out` takes now of `token_in` for `amount_out`.
    @param token_in DECA or ENERGY.
    @param amount_out Base units of the other token.
    @return Base units of token_in.
    """
    r_in: uint256 = 0
    r_out: uint256 = 0
    r_in, r_out = self._oriented(self._reserves, self._side(token_in))
    return self._amount_in(amount_out, r_in, r_out, self.fee_bps)


@external
@view
def quote_add(deca_desired: uint256, energy_desired: uint256) -> (uint256, uint256, uint256):
    """
    @notice What `add_liquidity` uses and mints now (the vault share due is
            counted in the supply, as the call would mint it first).
    @param deca_desired At most this many DECA wei.
    @param energy_desired At most this many ENERGY base units.
    @return DECA wei used, ENERGY base units used, LP shares minted.
    """
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    supply: uint256 = erc20.totalSupply
    supply += self._vault_shares(rd, re, supply)
    return self._quote_add(deca_desired, energy_desired, rd, re, supply)


@external
@view
def quote_remove(shares: uint256) -> (uint256, uint256):
    """
    @notice What `remove_liquidity` pays now for `shares` (the vault share
            due is counted in the supply).
    @param shares LP shares, at most the supply.
    @return DECA wei, ENERGY base units.
    """
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    supply: uint256 = erc20.totalSupply
    supply += self._vault_shares(rd, re, supply)
    return self._quote_remove(shares, rd, re, supply)


@external
@view
def pending_vault_shares() -> uint256:
    """
    @notice LP shares the next add or remove mints to the vault.
    @return LP shares.
    """
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    return self._vault_shares(rd, re, erc20.totalSupply)


@external
@view
def spot_price() -> uint256:
    """
    @notice The marginal price of ENERGY in DECA (before fee), 0 when empty.
    @return DECA wei per ENERGY base unit × 1e18.
    """
    rd: uint256 = 0
    re: uint256 = 0
    rd, re = self._reserve_pair()
    if re == 0:
        return 0
    return self._price(rd, re)


@external
@view
def cumulative_prices() -> (uint256, uint256):
    """
    @notice The cumulative price as of now (the stored one extrapolated
            with the current reserves): a TWAP over [t0, t1] is
            (cum(t1) − cum(t0)) / (t1 − t0).
    @return DECA wei per ENERGY unit × 1e18 × s, timestamp [s].
    """
    word: uint256 = self._reserves
    cd: uint256 = self.price_deca_cumulative
    dt: uint256 = block.timestamp - (word >> RES_TIME)
    rd: uint256 = word & MASK_112
    re: uint256 = (word >> RES_ENERGY) & MASK_112
    if dt > 0 and rd > 0 and re > 0:
        # Bounded as the stored sum (see STORAGE).
        cd = unsafe_add(cd, unsafe_mul(self._price(rd, re), dt))
    return cd, block.timestamp


# ============================= INTERNAL =============================

@internal
@pure
def _amount_out(amount_in: uint256, r_in: uint256, r_out: uint256, fee_bps: uint256) -> uint256:
    """
    @dev Uniswap V2's getAmountOut with the fee in bps, rounded down (in the
         pool's favour); always < r_out.
    """
    assert amount_in > 0, "pool: zero amount"
    assert r_in > 0 and r_out > 0, "pool: insufficient liquidity"
    in_with_fee: uint256 = amount_in * (BPS - fee_bps)
    return in_with_fee * r_out // (r_in * BPS + in_with_fee)


@internal
@pure
def _amount_in(amount_out: uint256, r_in: uint256, r_out: uint256, fee_bps: uint256) -> uint256:
    """
    @dev Uniswap V2's getAmountIn with the fee in bps, rounded up (in the
         pool's favour).
    """
    assert amount_out > 0, "pool: zero amount"
    assert r_in > 0 and amount_out < r_out, "pool: insufficient liquidity"
    # r_out − amount_out > 0 (checked above).
    return r_in * amount_out * BPS // (unsafe_sub(r_out, amount_out) * (BPS - fee_bps)) + 1


@internal
@pure
def _quote_add(d_des: uint256, e_des: uint256, rd: uint256, re: uint256, supply: uint256) -> (uint256, uint256, uint256):
    """
    @dev UniswapV2Router.addLiquidity's optimal pair, then the shares
         (rounded down). The first deposit takes both amounts; its shares
         are √(d·e) − MINIMUM_LIQUIDITY (0 if that is not positive).
    """
    assert d_des > 0 and e_des > 0, "pool: zero amount"
    if supply == 0:
        root: uint256 = isqrt(d_des * e_des)
        if root <= MINIMUM_LIQUIDITY:
            return d_des, e_des, 0
        # root > MINIMUM_LIQUIDITY (checked above).
        return d_des, e_des, unsafe_sub(root, MINIMUM_LIQUIDITY)
    d: uint256 = d_des
    e: uint256 = d_des * re // rd
    if e > e_des:
        e = e_des
        d = e_des * rd // re  # ≤ d_des, as d_des · re > e_des · rd
    return d, e, min(d * supply // rd, e * supply // re)


@internal
@pure
def _quote_remove(shares: uint256, rd: uint256, re: uint256, supply: uint256) -> (uint256, uint256):
    """
    @dev Pro rata of the reserves, rounded down.
    """
    assert shares <= supply, "pool: insufficient shares"
    return shares * rd // supply, shares * re // supply


@internal
@pure
def _price(r_base: uint256, r_quote: uint256) -> uint256:
    """
    @dev r_base per r_quote × 1e18, rounded down; r_quote > 0.
    """
    # r_base ≤ 2**112 and PRICE_SCALE < 2**60: no overflow; r_quote > 0.
    return unsafe_div(unsafe_mul(r_base, PRICE_SCALE), r_quote)


@internal
@view
def _vault_shares(rd: uint256, re: uint256, supply: uint256) -> uint256:
    """
    @dev Shares due to the vault for the fee growth since k_last:
         S·(√k − √k_last)·φ / (√k·(10 000 − φ) + √k_last·φ), so that the
         vault holds φ of the growth of √k (Uniswap V2's formula at
         φ = 1/6).
    """
    phi: uint256 = self.vault_share_bps
    k_last: uint256 = self.k_last
    if phi == 0 or k_last == 0:
        return 0
    root_k: uint256 = isqrt(rd * re)
    root_k_last: uint256 = isqrt(k_last)
    if root_k <= root_k_last:
        return 0
    # root_k > root_k_last (checked above) and phi ≤ MAX_VAULT_SHARE_BPS < BPS.
    growth: uint256 = unsafe_sub(root_k, root_k_last)
    return supply * growth * phi // (root_k * unsafe_sub(BPS, phi) + root_k_last * phi)


@internal
def _mint_vault_share(rd: uint256, re: uint256) -> uint256:
    """
    @dev Mint the vault's due shares; return the supply after.
    """
    supply: uint256 = erc20.totalSupply
    shares: uint256 = self._vault_shares(rd, re, supply)
    if shares > 0:
        vault: address = self.vault
        erc20._mint(vault, shares)
        log VaultShareMinted(vault=vault, shares=shares)
        supply += shares
    return supply


@internal
def _set_k_last(rd: uint256, re: uint256):
    """
    @dev k_last := k while the vault share is on, else 0 (as Uniswap V2).
    """
    if self.vault_share_bps > 0:
        # rd, re ≤ 2**112 − 1: the product fits.
        self.k_last = unsafe_mul(rd, re)
    elif self.k_last != 0:
        self.k_last = 0


@internal
def _update(rd: uint256, re: uint256, word: uint256):
    """
    @dev Store the new reserves; on the first change in a block, add the
         previous reserves' prices × the seconds since the last change.
    """
    assert rd <= MAX_RESERVE and re <= MAX_RESERVE, "pool: overflow"
    last: uint256 = word >> RES_TIME
    if last != block.timestamp:
        old_d: uint256 = word & MASK_112
        old_e: uint256 = (word >> RES_ENERGY) & MASK_112
        if old_d > 0 and old_e > 0:
            # block.timestamp > last. The sums stay below 2**172 per second
            # elapsed (see STORAGE): they cannot overflow.
            dt: uint256 = unsafe_sub(block.timestamp, last)
            self.price_deca_cumulative = unsafe_add(
                self.price_deca_cumulative, unsafe_mul(self._price(old_d, old_e), dt)
            )
    self._reserves = rd | (re << RES_ENERGY) | (block.timestamp << RES_TIME)


@internal
def _swap(
    word: uint256,
    deca_in: bool,
    token_in: address,
    new_in: uint256,
    new_out: uint256,
    amount_in: uint256,
    amount_out: uint256,
    to: address,
):
    """
    @dev Store the reserves after a swap, then pull the input and pay the
         output. k never decreases: both pricing formulas round in the
         pool's favour.
    """
    token_out: address = ENERGY
    if deca_in:
        self._update(new_in, new_out, word)
    else:
        token_out = DECA
        self._update(new_out, new_in, word)
    assert extcall IERC20(token_in).transferFrom(msg.sender, self, amount_in, default_return_value=True)
    assert extcall IERC20(token_out).transfer(to, amount_out, default_return_value=True)
    log Swap(sender=msg.sender, to=to, token_in=token_in, amount_in=amount_in, amount_out=amount_out)


@internal
@view
def _side(token: address) -> bool:
    """
    @dev True for DECA, False for ENERGY; reverts on any other token.
    """
    if token == DECA:
        return True
    assert token == ENERGY, "pool: bad token"
    return False


@internal
@pure
def _oriented(word: uint256, deca_in: bool) -> (uint256, uint256):
    """
    @dev (reserve in, reserve out) of a swap from the reserves word.
    """
    rd: uint256 = word & MASK_112
    re: uint256 = (word >> RES_ENERGY) & MASK_112
    if deca_in:
        return rd, re
    return re, rd


@internal
@view
def _reserve_pair() -> (uint256, uint256):
    """
    @dev (DECA wei, ENERGY base units) in reserve.
    """
    word: uint256 = self._reserves
    return word & MASK_112, (word >> RES_ENERGY) & MASK_112


@internal
def _set_fee_bps(fee_bps: uint256):
    assert fee_bps <= MAX_FEE_BPS, "pool: fee too high"
    self.fee_bps = fee_bps
    log ParameterChanged(name="fee_bps", value=fee_bps)


@internal
def _set_vault_share_bps(vault_share_bps: uint256):
    assert vault_share_bps <= MAX_VAULT_SHARE_BPS, "pool: share too high"
    self.vault_share_bps = vault_share_bps
    log ParameterChanged(name="vault_share_bps", value=vault_share_bps)


@internal
def _set_vault(vault: address):
    assert vault != empty(address), "pool: zero address"
    self.vault = vault
    log VaultChanged(vault=vault)
