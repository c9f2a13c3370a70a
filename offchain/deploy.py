"""Deploying the whole system: every contract, wired as the DAO runs it, the DAO seated.

One function and one type for the ``ape run`` scripts, the demo and the tests:
:func:`deploy_system` returns a :class:`System`; :func:`system_at` finds a deployed one from
its DAO (whose module directory names every contract).
"""

from typing import NamedTuple

from greenminer.protocol import EPOCH_SECONDS
from offchain.governance import DEFAULT_DAO_PARAMS

# module name -> contract type; the DAO's own name for it is the key
MODULES = {
    "sbt": "MinerSBT",
    "registry": "MeasurementRegistry",
    "deca": "DecaToken",
    "keys": "EpochKeys",
    "rewards": "RewardDistributor",
    "energy": "EnergyToken",
    "storage": "StorageNode",
    "pool": "LiquidityPool",
    "desk": "PaymentDesk",
    "certificate": "GreenCertificate",
    "green_pool": "LiquidityPool",
}

# Deploy-time defaults of the measurement registry; the DAO changes them later by proposal.
REGISTRY_PARAMS = {
    "pow_target": 2**248,  # about 2**8 expected hashes a batch
    "capacity_margin_bps": 15_000,  # power may reach 150 % of capacity (cloud enhancement)
    "grace_period": 900,  # [s] after an epoch's end, batches for it are still accepted
}
# Deploy-time defaults of the reward distributor.
REWARD_PARAMS = {
    "emission": 100 * 10**18,  # [DECA wei] minted per epoch: to winners, the rest to the vault
    "post_deadline": 86_400,  # [s] after an epoch's end; an epoch not posted by then is swept
}
# Deploy-time defaults of the energy market.
MARKET_PARAMS = {
    "fee_bps": 30,  # pool swap fee, 0.3 %
    "vault_share_bps": 1_667,  # of the pool's fee growth, minted to the vault as LP shares (1/6)
    "reference_price": 10**30,  # [DECA wei per mWh x 1e18] = 1 DECA per kWh, suggested while the pool is empty
    "dao_share_bps": 1_000,  # of the DECA added for a payment, minted to the vault
    "price_band_bps": 500,  # a payment is refused when the pool's spot is more than 5 % off the voted price
}

# Deploy-time defaults of the green certificates; the DAO sets the regions' factors later by proposal.
CERTIFICATE_PARAMS = {
    "min_a_bps": 9_000,  # a table row is certified when its authenticity is at least 0.9
    "default_region": "World",
    "default_factor_g_per_kwh": 480,  # [gCO2e/kWh] world electricity, 2023
    "default_source": "Ember, Global Electricity Review 2024: world average of 2023",
}
# (name, symbol) of each pool's LP token
ENERGY_POOL_NAMES = ("DECA/ENERGY LP", "DELP")
GREEN_POOL_NAMES = ("DECA/GEC LP", "DGLP")


class System(NamedTuple):
    """The deployed contracts (ape contract instances); the DAO is also the vault."""

    dao: object  # TechnicalDAO
    sbt: object  # MinerSBT
    registry: object  # MeasurementRegistry
    deca: object  # DecaToken
    keys: object  # EpochKeys
    rewards: object  # RewardDistributor
    energy: object  # EnergyToken
    storage: object  # StorageNode
    pool: object  # LiquidityPool
    desk: object  # PaymentDesk
    certificate: object  # GreenCertificate (GEC)
    green_pool: object  # LiquidityPool of DECA and GEC

    def modules(self):
        """``{name: contract}`` of the modules, in the DAO's order (without the DAO)."""
        return {name: getattr(self, name) for name in MODULES}


def deploy_system(project, chain, deployer, members, oracle, params=None, registry_params=None,
                  reward_params=None, market_params=None, certificate_params=None, genesis=None, hand_to_dao=True):
    """Deploy every contract, wire them, seat ``members`` in the DAO and hand everything to it.

    ``oracle`` gets the oracle role on EpochKeys, RewardDistributor and GreenCertificate; the distributor and the
    payment desk mint DECA; the desk mints ENERGY and the storage nodes burn it; GENESIS
    (epoch 0) is ``genesis`` [s], by default the start of the hour of deployment. The DAO is
    deployed last (its constructor records the modules), so the contracts that pay the vault
    are given its predicted address. ``hand_to_dao=False`` leaves the deployer owning every
    module (tests that call owner functions directly); the DAO is deployed all the same.
    """
    params = {**DEFAULT_DAO_PARAMS, **(params or {})}
    registry_params = {**REGISTRY_PARAMS, **(registry_params or {})}
    reward_params = {**REWARD_PARAMS, **(reward_params or {})}
    market = {**MARKET_PARAMS, **(market_params or {})}
    certificate_params = {**CERTIFICATE_PARAMS, **(certificate_params or {})}
    if genesis is None:
        genesis = chain.pending_timestamp // EPOCH_SECONDS * EPOCH_SECONDS
    sbt = deployer.deploy(project.MinerSBT)
    registry = deployer.deploy(project.MeasurementRegistry, sbt, genesis, *registry_params.values())
    sbt.set_registry(registry, sender=deployer)
    deca = deployer.deploy(project.DecaToken)
    keys = deployer.deploy(project.EpochKeys, registry, sbt)
    registry.set_epoch_keys(keys, sender=deployer)
    keys.set_oracle(oracle, True, sender=deployer)
    energy = deployer.deploy(project.EnergyToken)
    storage = deployer.deploy(project.StorageNode, sbt, energy)
    energy.set_burner(storage, True, sender=deployer)
    vault = deployer.get_deployment_address(deployer.nonce + 12)  # after the next twelve transactions
    rewards = deployer.deploy(project.RewardDistributor, deca, keys, sbt, vault, *reward_params.values())
    rewards.set_oracle(oracle, True, sender=deployer)
    deca.set_minter(rewards, True, sender=deployer)
    pool = deployer.deploy(project.LiquidityPool, deca, energy, vault, market["fee_bps"], market["vault_share_bps"],
                           *ENERGY_POOL_NAMES)
    desk = deployer.deploy(project.PaymentDesk, deca, energy, storage, pool, sbt, registry, vault,
                           market["reference_price"], market["dao_share_bps"], market["price_band_bps"])
    pool.set_seeder(desk, sender=deployer)  # the first deposit: a payment at the price the DAO votes
    storage.set_desk(desk, sender=deployer)
    energy.set_minter(desk, True, sender=deployer)
    deca.set_minter(desk, True, sender=deployer)
    certificate = deployer.deploy(project.GreenCertificate, rewards, *certificate_params.values())
    certificate.set_oracle(oracle, True, sender=deployer)
    green_pool = deployer.deploy(project.LiquidityPool, deca, certificate, vault, market["fee_bps"],
                                 market["vault_share_bps"], *GREEN_POOL_NAMES)
    modules = {"sbt": sbt, "registry": registry, "deca": deca, "keys": keys, "rewards": rewards,
               "energy": energy, "storage": storage, "pool": pool, "desk": desk, "certificate": certificate,
               "green_pool": green_pool}
    dao = deployer.deploy(
        project.TechnicalDAO,
        members,
        *(params[k] for k in DEFAULT_DAO_PARAMS),
        list(MODULES),
        [modules[name].address for name in MODULES],
    )
    assert dao.address == vault, "deploy: the DAO is not at the vault's predicted address"
    if hand_to_dao:
        for contract in modules.values():
            contract.transfer_ownership(dao, sender=deployer)
    return System(dao=dao, **modules)


def system_at(project, dao_address):
    """The system whose DAO is at ``dao_address``, from the DAO's module directory."""
    dao = project.TechnicalDAO.at(dao_address)
    return System(dao=dao, **{name: getattr(project, kind).at(dao.modules(name)) for name, kind in MODULES.items()})
