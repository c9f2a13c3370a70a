"""Bare view calls and log reads (offchain.views) against ape's own reads of the same views and events."""

import pytest
from eth_utils import keccak

from offchain.views import call_view, get_logs


@pytest.fixture
def admitted(admit, sbt):
    device = admit(0, start_total=1_234)
    return device, sbt.token_of_device(device.address)


def test_call_view__single_outputs__as_ape_reads_them(registry, sbt, admitted):
    device, token = admitted
    assert call_view(registry, "pow_target") == registry.pow_target()
    assert call_view(registry, "genesis") == registry.genesis()
    assert call_view(registry, "domain_separator") == bytes(registry.domain_separator())
    assert call_view(sbt, "ownerOf", token) == sbt.ownerOf(token)  # a checksummed address
    assert call_view(sbt, "device_of", token) == sbt.device_of(token) == device.address


def test_call_view__several_outputs__a_tuple_as_ape_reads_it(registry, sbt, admitted):
    device, token = admitted
    state = call_view(registry, "device_state", device.address)
    assert state == tuple(registry.device_state(device.address))
    assert state[0] == 1_234  # the enrollment's total
    assert call_view(sbt, "device_info", device.address) == tuple(sbt.device_info(device.address))


def test_call_view__struct__fields_by_name_as_ape_reads_them(sbt, admitted):
    device, token = admitted
    ours, apes = call_view(sbt, "miners", token), sbt.miners(token)
    assert tuple(ours) == tuple(apes)
    assert all(getattr(ours, f) == getattr(apes, f) for f in ours._fields)
    assert {"device", "status", "pubkey_x", "pubkey_y", "capacity_w"} <= set(ours._fields)
    assert ours.device == device.address


def test_call_view__arrays__as_ape_reads_them(registry, admitted):
    device, _ = admitted
    stranger = "0x" + "12" * 20
    ours = call_view(registry, "legal_counts", [device.address, stranger], 0)
    assert list(ours) == list(registry.legal_counts([device.address, stranger], 0)) == [0, 0]


@pytest.mark.parametrize("name, args", [("no_such_view", ()), ("pow_target", (1,)), ("submit_many", ([],))])
def test_call_view__not_a_view_of_that_arity__attribute_error(registry, name, args):
    with pytest.raises(AttributeError, match="MeasurementRegistry has no view"):
        call_view(registry, name, *args)


def test_get_logs__indexed_string__the_hash_its_topic_holds(dao, sbt):
    head = dao.chain_manager.blocks.height
    (ours,) = get_logs(dao, "ModuleSet", 0, head)  # the constructor seats the SBT
    (apes,) = list(dao.ModuleSet.range(0, head + 1))
    assert ours.module == apes.module == sbt.address
    assert ours.name == keccak(text="sbt")  # an indexed string is only its hash in the log
    assert (ours.block_number, ours.log_index) == (apes.block_number, apes.log_index)
