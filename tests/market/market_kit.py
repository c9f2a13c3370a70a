"""Deployment and funding helpers for the LiquidityPool tests and the gas bench."""

from offchain.deploy import ENERGY_POOL_NAMES

FAR = 2**64  # a deadline that never expires [s]
MAX = 2**256 - 1
SEED_DECA = 1_000 * 10**18  # DECA wei: the first deposit of the `seeded` fixture
SEED_ENERGY = 500 * 10**6  # mWh: 500 kWh, so 2 DECA per kWh


class Market:
    """DECA, ENERGY and a LiquidityPool deployed together."""

    def __init__(self, owner, deca, energy, pool):
        self.owner, self.deca, self.energy, self.pool = owner, deca, energy, pool

    def fund(self, account, deca=0, energy=0, allowance=MAX):
        """Mint tokens to `account` (the owner is a minter) and approve the pool."""
        if deca:
            self.deca.mint(account, deca, sender=self.owner)
        if energy:
            self.energy.mint(account, energy, sender=self.owner)
        self.deca.approve(self.pool, allowance, sender=account)
        self.energy.approve(self.pool, allowance, sender=account)

    def token(self, deca_in):
        return self.deca if deca_in else self.energy

    def state(self):
        """(reserve DECA, reserve ENERGY, supply, k_last)."""
        rd, re, _ = self.pool.reserves()
        return rd, re, self.pool.totalSupply(), self.pool.k_last()


class Kit:
    """Deploys fresh markets; `seeder` is the account the DAO names for the first deposit (in
    the system, the PaymentDesk)."""

    def __init__(self, project, owner, vault, seeder):
        self.project, self.owner, self.vault, self.seeder = project, owner, vault, seeder

    def deploy(self, fee_bps=30, vault_share_bps=1_667):
        deca = self.owner.deploy(self.project.DecaToken)
        energy = self.owner.deploy(self.project.EnergyToken)
        pool = self.owner.deploy(self.project.LiquidityPool, deca, energy, self.vault, fee_bps, vault_share_bps,
                                 *ENERGY_POOL_NAMES)
        pool.set_seeder(self.seeder, sender=self.owner)
        return Market(self.owner, deca, energy, pool)
