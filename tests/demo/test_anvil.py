"""The demo's Anvil (testbed/anvil.py): ape-foundry's command without step tracing, receipts asked
for every 5 ms."""

import os
from pathlib import Path

from ape_foundry.provider import FoundryProvider
from web3.eth import Eth

from testbed import anvil

ROOT = Path(__file__).resolve().parents[2]


def test_build_command__ape_foundrys_without_steps_tracing(networks, monkeypatch):
    bin_dir = next((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin"))  # what `make env` installs
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    provider = networks.ethereum.local.get_provider("foundry")
    theirs = anvil._build_command(provider)
    assert "--steps-tracing" in theirs  # ape-foundry's own: this fails when it stops asking for it
    ours = anvil.build_command(provider)
    assert ours == [arg for arg in theirs if arg != "--steps-tracing"] + ["--max-persisted-states", "100000"]
    assert "--port" in ours


def test_wait_for_transaction_receipt__web3s_wait_every_5_ms(monkeypatch):
    asked = []
    monkeypatch.setattr(anvil, "_wait_for_receipt", lambda eth, h, timeout, poll: asked.append((h, timeout, poll)) or "r")
    assert anvil.wait_for_transaction_receipt(None, "0xab") == "r"
    assert anvil.wait_for_transaction_receipt(None, "0xcd", 30, 0.1) == "r"  # ape's call: web3's default latency
    assert anvil.wait_for_transaction_receipt(None, "0xef", 30, 0.001) == "r"
    assert asked == [("0xab", 120, 0.005), ("0xcd", 30, 0.005), ("0xef", 30, 0.001)]


def test_install__both_in_place(monkeypatch):
    monkeypatch.setattr(FoundryProvider, "build_command", FoundryProvider.build_command)  # restored afterwards
    monkeypatch.setattr(Eth, "wait_for_transaction_receipt", Eth.wait_for_transaction_receipt)
    anvil.install()
    assert FoundryProvider.build_command is anvil.build_command
    assert Eth.wait_for_transaction_receipt is anvil.wait_for_transaction_receipt
