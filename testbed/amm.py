"""Constant-product maths of the DECA/ENERGY LiquidityPool, integer for integer.

The twin of ``contracts/LiquidityPool.vy`` (docs/architecture.md, energy market): every function rounds as the
contract does, so tests compare the two exactly. Order everywhere: DECA first, ENERGY
second. Units: DECA in wei (18 decimals), ENERGY in base units (1 = 1 mWh).

- swaps: Uniswap V2's ``getAmountOut`` / ``getAmountIn`` with the fee in bps, both
  rounded in the pool's favour (out down, in up), so ``k`` never decreases;
- adds: UniswapV2Router's optimal pair at the pool's ratio; shares rounded down;
  the first deposit mints ``isqrt(d·e) − MINIMUM_LIQUIDITY`` and locks the minimum;
- removes: pro rata, rounded down;
- vault share: Uniswap V2's fee switch generalised to a share ``φ`` [bps] of the growth
  of ``√k`` since ``k_last``;
- prices: scaled by 1e18; a TWAP is the difference of two cumulative observations over
  the seconds between them.

Errors are ``PoolError`` with the contract's revert reason.
"""

from math import isqrt

BPS = 10_000
MAX_FEE_BPS = 100
MAX_VAULT_SHARE_BPS = 5_000
MINIMUM_LIQUIDITY = 1_000
PRICE_SCALE = 10**18
MAX_RESERVE = 2**112 - 1
DEAD = "0x000000000000000000000000000000000000dEaD"


class PoolError(ValueError):
    """A refusal; ``str(err)`` is the contract's revert reason."""


def _require(ok, reason):
    if not ok:
        raise PoolError(reason)


def amount_out(amount_in, reserve_in, reserve_out, fee_bps):
    """Output of selling ``amount_in`` (``swap_exact_in``), rounded down.

    Parameters
    ----------
    amount_in : int [base units of the token in]
    reserve_in, reserve_out : int [base units]
    fee_bps : int [bps]

    Returns
    -------
    int [base units of the token out]
        ``in·(10⁴−f)·R_out // (R_in·10⁴ + in·(10⁴−f))``, always below ``reserve_out``.
    """
    _require(amount_in > 0, "pool: zero amount")
    _require(reserve_in > 0 and reserve_out > 0, "pool: insufficient liquidity")
    with_fee = amount_in * (BPS - fee_bps)
    return with_fee * reserve_out // (reserve_in * BPS + with_fee)


def amount_in(amount_out_, reserve_in, reserve_out, fee_bps):
    """Input needed to buy ``amount_out_`` (``swap_exact_out``), rounded up.

    Parameters
    ----------
    amount_out_ : int [base units of the token out]
    reserve_in, reserve_out : int [base units]
    fee_bps : int [bps]

    Returns
    -------
    int [base units of the token in]
        ``R_in·out·10⁴ // ((R_out−out)·(10⁴−f)) + 1``.
    """
    _require(amount_out_ > 0, "pool: zero amount")
    _require(reserve_in > 0 and amount_out_ < reserve_out, "pool: insufficient liquidity")
    return reserve_in * amount_out_ * BPS // ((reserve_out - amount_out_) * (BPS - fee_bps)) + 1


def quote_add(deca_desired, energy_desired, reserve_deca, reserve_energy, supply):
    """Amounts an add uses and the shares it mints (``quote_add``).

    Parameters
    ----------
    deca_desired : int [DECA wei]
    energy_desired : int [ENERGY base units]
    reserve_deca : int [DECA wei]
    reserve_energy : int [ENERGY base units]
    supply : int [LP shares]
        Including the vault shares the add mints first (``vault_shares``).

    Returns
    -------
    (int, int, int) [DECA wei, ENERGY base units, LP shares]
        First deposit (``supply == 0``): both amounts, ``isqrt(d·e) − 1000`` shares
        (0 when not positive). Later: the optimal pair at the pool's ratio and
        ``min(d·S // R_d, e·S // R_e)``.
    """
    _require(deca_desired > 0 and energy_desired > 0, "pool: zero amount")
    if supply == 0:
        root = isqrt(deca_desired * energy_desired)
        return deca_desired, energy_desired, max(root - MINIMUM_LIQUIDITY, 0)
    d, e = deca_desired, deca_desired * reserve_energy // reserve_deca
    if e > energy_desired:
        d, e = energy_desired * reserve_deca // reserve_energy, energy_desired
    return d, e, min(d * supply // reserve_deca, e * supply // reserve_energy)


def quote_remove(shares, reserve_deca, reserve_energy, supply):
    """Amounts paid for burning ``shares`` (pro rata, rounded down).

    Parameters
    ----------
    shares, supply : int [LP shares]
    reserve_deca : int [DECA wei]
    reserve_energy : int [ENERGY base units]

    Returns
    -------
    (int, int) [DECA wei, ENERGY base units]
    """
    _require(shares <= supply, "pool: insufficient shares")
    return shares * reserve_deca // supply, shares * reserve_energy // supply


def vault_shares(reserve_deca, reserve_energy, supply, k_last, share_bps):
    """Shares due to the vault for the fee growth since ``k_last``.

    Parameters
    ----------
    reserve_deca : int [DECA wei]
    reserve_energy : int [ENERGY base units]
    supply : int [LP shares]
    k_last : int [DECA wei · ENERGY base units]
    share_bps : int [bps]
        φ, the vault's share of the growth of ``√k``.

    Returns
    -------
    int [LP shares]
        ``S·(√k − √k_last)·φ // (√k·(10⁴ − φ) + √k_last·φ)``; 0 when φ or ``k_last``
        is 0 or ``√k`` did not grow.
    """
    if share_bps == 0 or k_last == 0:
        return 0
    root_k, root_last = isqrt(reserve_deca * reserve_energy), isqrt(k_last)
    if root_k <= root_last:
        return 0
    return supply * (root_k - root_last) * share_bps // (root_k * (BPS - share_bps) + root_last * share_bps)


def price(reserve_base, reserve_quote):
    """Reserves ratio scaled by 1e18, rounded down.

    Parameters
    ----------
    reserve_base, reserve_quote : int [base units]

    Returns
    -------
    int [base units of base per base unit of quote × 1e18]
    """
    return reserve_base * PRICE_SCALE // reserve_quote


def spot_price(reserve_deca, reserve_energy):
    """Marginal price of ENERGY (``spot_price``).

    Parameters
    ----------
    reserve_deca : int [DECA wei]
    reserve_energy : int [ENERGY base units]

    Returns
    -------
    int [DECA wei per ENERGY base unit × 1e18]
        0 when the pool is empty.
    """
    return 0 if reserve_energy == 0 else price(reserve_deca, reserve_energy)


def twap(cumulative_0, timestamp_0, cumulative_1, timestamp_1):
    """Time-weighted average price between two ``cumulative_prices`` observations.

    Parameters
    ----------
    cumulative_0, cumulative_1 : int [price × 1e18 × s]
    timestamp_0, timestamp_1 : int [s]
        ``timestamp_1 > timestamp_0``.

    Returns
    -------
    int [price × 1e18]
        ``(cum_1 − cum_0) // (t_1 − t_0)``: DECA wei per ENERGY base unit.
    """
    return (cumulative_1 - cumulative_0) // (timestamp_1 - timestamp_0)


class Pool:
    """The pool's state, changed exactly as the contract changes it.

    Reserves, balances (donations included), LP shares per holder, ``k_last``, fee,
    vault share and the cumulative price. Operations take the block ``timestamp``
    [s] and raise ``PoolError`` with the contract's reason where it would revert.
    Token transfers to and from holders are not modelled; ``balance_*`` are the pool's.
    """

    def __init__(self, fee_bps=30, vault_share_bps=1_667, vault="vault"):
        self.reserve_deca = self.reserve_energy = 0
        self.balance_deca = self.balance_energy = 0
        self.shares = {}
        self.k_last = 0
        self.fee_bps, self.vault_share_bps, self.vault = fee_bps, vault_share_bps, vault
        self.cum_deca = 0
        self.timestamp = 0

    @property
    def supply(self):
        return sum(self.shares.values())

    def _mint(self, to, n):
        self.shares[to] = self.shares.get(to, 0) + n

    def pending_vault_shares(self):
        return vault_shares(self.reserve_deca, self.reserve_energy, self.supply, self.k_last,
                            self.vault_share_bps)

    def _mint_vault_share(self):
        n = self.pending_vault_shares()
        if n:
            self._mint(self.vault, n)
        return self.supply

    def _set_k_last(self):
        self.k_last = self.reserve_deca * self.reserve_energy if self.vault_share_bps else 0

    def _update(self, rd, re, timestamp):
        _require(rd <= MAX_RESERVE and re <= MAX_RESERVE, "pool: overflow")
        if timestamp != self.timestamp and self.reserve_deca and self.reserve_energy:
            dt = timestamp - self.timestamp
            self.cum_deca += price(self.reserve_deca, self.reserve_energy) * dt
        self.reserve_deca, self.reserve_energy, self.timestamp = rd, re, timestamp

    def cumulative_prices(self, timestamp):
        """(cumulative DECA price, timestamp) extrapolated to ``timestamp``, as the view."""
        cd, dt = self.cum_deca, timestamp - self.timestamp
        if dt and self.reserve_deca and self.reserve_energy:
            cd += price(self.reserve_deca, self.reserve_energy) * dt
        return cd, timestamp

    def quote_add(self, deca_desired, energy_desired):
        supply = self.supply + self.pending_vault_shares()
        return quote_add(deca_desired, energy_desired, self.reserve_deca, self.reserve_energy, supply)

    def quote_remove(self, shares):
        supply = self.supply + self.pending_vault_shares()
        return quote_remove(shares, self.reserve_deca, self.reserve_energy, supply)

    def add(self, to, deca_desired, energy_desired, timestamp, deca_min=0, energy_min=0):
        """``add_liquidity``: returns (DECA wei, ENERGY base units, shares)."""
        d, e, n = self.quote_add(deca_desired, energy_desired)
        _require(d >= deca_min, "pool: insufficient deca")
        _require(e >= energy_min, "pool: insufficient energy")
        _require(n > 0, "pool: insufficient shares minted")
        supply = self._mint_vault_share()
        self._update(self.reserve_deca + d, self.reserve_energy + e, timestamp)
        if supply == 0:
            self._mint(DEAD, MINIMUM_LIQUIDITY)
        self._set_k_last()
        self._mint(to, n)
        self.balance_deca += d
        self.balance_energy += e
        return d, e, n

    def remove(self, owner, shares, timestamp, deca_min=0, energy_min=0):
        """``remove_liquidity``: returns (DECA wei, ENERGY base units)."""
        _require(shares > 0, "pool: zero amount")
        _require(self.shares.get(owner, 0) >= shares, "pool: insufficient shares")
        d, e = self.quote_remove(shares)
        _require(d > 0 and e > 0, "pool: insufficient liquidity burned")
        _require(d >= deca_min, "pool: insufficient deca")
        _require(e >= energy_min, "pool: insufficient energy")
        self._mint_vault_share()
        self.shares[owner] -= shares
        self._update(self.reserve_deca - d, self.reserve_energy - e, timestamp)
        self._set_k_last()
        self.balance_deca -= d
        self.balance_energy -= e
        return d, e

    def _swap(self, deca_in, a_in, a_out, timestamp):
        if deca_in:
            self._update(self.reserve_deca + a_in, self.reserve_energy - a_out, timestamp)
            self.balance_deca += a_in
            self.balance_energy -= a_out
        else:
            self._update(self.reserve_deca - a_out, self.reserve_energy + a_in, timestamp)
            self.balance_energy += a_in
            self.balance_deca -= a_out

    def _oriented(self, deca_in):
        if deca_in:
            return self.reserve_deca, self.reserve_energy
        return self.reserve_energy, self.reserve_deca

    def swap_exact_in(self, deca_in, a_in, timestamp, min_out=0):
        """``swap_exact_in``: returns the amount out [base units]."""
        _require(a_in > 0, "pool: zero amount")
        out = amount_out(a_in, *self._oriented(deca_in), self.fee_bps)
        _require(out > 0 and out >= min_out, "pool: insufficient output")
        self._swap(deca_in, a_in, out, timestamp)
        return out

    def swap_exact_out(self, deca_in, a_out, timestamp, max_in=2**256 - 1):
        """``swap_exact_out``: returns the amount in [base units]."""
        _require(a_out > 0, "pool: zero amount")
        a_in = amount_in(a_out, *self._oriented(deca_in), self.fee_bps)
        _require(a_in <= max_in, "pool: excessive input")
        self._swap(deca_in, a_in, a_out, timestamp)
        return a_in

    def donate(self, deca, energy):
        """Tokens sent to the pool directly."""
        self.balance_deca += deca
        self.balance_energy += energy

    def sync(self, timestamp):
        self._update(self.balance_deca, self.balance_energy, timestamp)

    def skim(self):
        """Returns the excess (DECA wei, ENERGY base units) sent away."""
        excess = (self.balance_deca - self.reserve_deca, self.balance_energy - self.reserve_energy)
        self.balance_deca, self.balance_energy = self.reserve_deca, self.reserve_energy
        return excess

    def set_vault_share_bps(self, bps):
        _require(bps <= MAX_VAULT_SHARE_BPS, "pool: share too high")
        self._mint_vault_share()
        self.vault_share_bps = bps
        self._set_k_last()
