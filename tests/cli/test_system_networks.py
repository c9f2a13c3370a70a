"""Ape's custom networks (ape-config's two chains of `ape run chains`) are built once per process
(scripts/_system.cache_custom_networks, installed by tests/conftest.py) and are the ones ape builds."""

from functools import cached_property

from ape.api.networks import EcosystemAPI

from scripts._system import cache_custom_networks


def test_cache_custom_networks__one_build_kept(networks):
    ecosystem = networks.ethereum
    assert ecosystem._custom_networks is ecosystem._custom_networks
    assert isinstance(EcosystemAPI.__dict__["_custom_networks"], cached_property)


def test_cache_custom_networks__the_configured_chains(networks):
    ecosystem = networks.ethereum
    assert sorted(ecosystem._custom_networks) == ["anvil-a", "anvil-a-fork", "anvil-b", "anvil-b-fork"]
    assert (ecosystem.get_network("anvil-a").chain_id, ecosystem.get_network("anvil-b").chain_id) == (31338, 31339)
    assert ecosystem.get_network("local").name == "local"  # the others still listed


def test_cache_custom_networks__again__unchanged(networks):
    before = networks.ethereum._custom_networks
    cache_custom_networks()
    assert networks.ethereum._custom_networks is before
