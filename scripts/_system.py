"""Deploying the system and finding it again: shared by every `ape run` script."""

import datetime
import json
from pathlib import Path

import click
from ape import chain, networks, project
from ape.exceptions import ContractLogicError
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


def record_path():
    """Where the current network's deployment is recorded (one file per network and chain id)."""
    net = networks.provider.network
    return Path(project.path) / "deployments" / f"{net.ecosystem.name}_{net.name}_{chain.chain_id}.json"


def deploy_system(deployer, members, oracle, params=None, registry_params=None, reward_params=None,
                  market_params=None):
    """Deploy every contract, wire them, seat `members` in the DAO and hand everything to it.

    `oracle` gets the oracle role on EpochKeys and RewardDistributor; the distributor and the
    payment desk mint DECA; the desk mints ENERGY and the storage nodes burn it; GENESIS
    (epoch 0) is the start of the hour of deployment. The DAO is deployed last (its
    constructor records the modules), so the contracts that pay the vault are given its
    predicted address. Returns a dict name -> contract instance, the DAO under "dao", and
    records the addresses.
    """
    params = {**DEFAULT_DAO_PARAMS, **(params or {})}
    registry_params = {**REGISTRY_PARAMS, **(registry_params or {})}
    reward_params = {**REWARD_PARAMS, **(reward_params or {})}
    market = {**MARKET_PARAMS, **(market_params or {})}
    sbt = deployer.deploy(project.MinerSBT)
    genesis = chain.pending_timestamp // EPOCH_SECONDS * EPOCH_SECONDS
    registry = deployer.deploy(project.MeasurementRegistry, sbt, genesis, *registry_params.values())
    sbt.set_registry(registry, sender=deployer)
    deca = deployer.deploy(project.DecaToken)
    keys = deployer.deploy(project.EpochKeys, registry, sbt)
    registry.set_epoch_keys(keys, sender=deployer)
    keys.set_oracle(oracle, True, sender=deployer)
    energy = deployer.deploy(project.EnergyToken)
    storage = deployer.deploy(project.StorageNode, sbt, energy)
    energy.set_burner(storage, True, sender=deployer)
    vault = deployer.get_deployment_address(deployer.nonce + 9)  # after the next nine transactions
    rewards = deployer.deploy(project.RewardDistributor, deca, keys, sbt, vault, *reward_params.values())
    rewards.set_oracle(oracle, True, sender=deployer)
    deca.set_minter(rewards, True, sender=deployer)
    pool = deployer.deploy(project.LiquidityPool, deca, energy, vault, market["fee_bps"], market["vault_share_bps"])
    desk = deployer.deploy(project.PaymentDesk, deca, energy, storage, pool, sbt, registry, vault,
                           market["reference_price"], market["dao_share_bps"], market["price_band_bps"])
    pool.set_seeder(desk, sender=deployer)  # the first deposit: a payment at the price the DAO votes
    storage.set_desk(desk, sender=deployer)
    energy.set_minter(desk, True, sender=deployer)
    deca.set_minter(desk, True, sender=deployer)
    modules = {"sbt": sbt, "registry": registry, "deca": deca, "keys": keys, "rewards": rewards,
               "energy": energy, "storage": storage, "pool": pool, "desk": desk}
    dao = deployer.deploy(
        project.TechnicalDAO,
        members,
        *(params[k] for k in DEFAULT_DAO_PARAMS),
        list(modules),
        [c.address for c in modules.values()],
    )
    assert dao.address == vault, "deploy: the DAO is not at the vault's predicted address"
    for contract in modules.values():
        contract.transfer_ownership(dao, sender=deployer)
    system = {"dao": dao, **modules}
    write_record(system)
    return system


def write_record(system):
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "chain_id": chain.chain_id,
        "block": chain.blocks.head.number,
        "contracts": {name: c.address for name, c in system.items()},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def when(ts):
    """A timestamp [s] as UTC text."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def record_block():
    """The block of the recorded deployment: where event searches start."""
    return json.loads(record_path().read_text())["block"]


def events(event, **topics):
    """Logs of `event` since the recorded deployment, filtered by indexed arguments."""
    return list(event.range(record_block(), chain.blocks.head.number + 1, search_topics=topics or None))


def transact(method, *args, sender):
    """Send a transaction, or stop with the contract's one-line reason if it would revert.

    The call is tried first (eth_call), so a refusal costs nothing.
    """
    try:
        method.call(*args, sender=sender)
    except ContractLogicError as err:
        raise click.ClickException(f"refused: {err.message}") from None
    return method(*args, sender=sender)


def load_system():
    """The recorded deployment of the current network, as contract instances.

    Raises click-friendly SystemExit with one line when nothing is deployed here.
    """
    path = record_path()
    if not path.is_file():
        raise SystemExit(f"no deployment recorded for this network ({path.name}); run `ape run deploy` first")
    record = json.loads(path.read_text())
    address = record["contracts"]["dao"]
    if not chain.provider.get_code(address):
        raise SystemExit(f"the DAO recorded in {path.name} is not on this chain (was the node restarted?)")
    dao = project.TechnicalDAO.at(address)
    system = {"dao": dao}
    for name, type_name in MODULES.items():
        system[name] = getattr(project, type_name).at(dao.modules(name))
    return system
