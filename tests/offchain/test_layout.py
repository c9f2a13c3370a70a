"""The product's import graph follows the pipeline, and the product does not lean on support.

Read from the source (``ast``), so a new import that breaks the layout fails here: a room
imports only rooms earlier in the flow (or itself), never ``testbed``, and from the board's
library only its protocol constants (the server's crypto is a maintained library's).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# offchain's rooms in the order data flows; a room may import itself and the rooms before it
RANK = {"display": 0, "protocol": 0, "views": 0, "index": 1, "scoring": 1, "gateway": 2, "oracle": 2,
        "deploy": 3, "governance": 3, "market": 3}
PRODUCT = sorted((ROOT / "offchain").rglob("*.py"))


def room_of(module):
    """``offchain.scoring.pogg`` -> ``scoring``; ``offchain`` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports_of(path):
    """Every module an ``offchain`` source file imports (``from offchain import x`` as ``offchain.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "offchain":
                found |= {f"offchain.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_rooms__every_offchain_module__belongs_to_a_ranked_room():
    rooms = {room_of(".".join(p.relative_to(ROOT).with_suffix("").parts)) for p in PRODUCT}
    assert rooms - {None, "__init__"} <= set(RANK)


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports__product_module__only_earlier_rooms_no_support_no_firmware_crypto(path):
    here = room_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    for module in imports_of(path):
        top = module.split(".")[0]
        assert top != "testbed", f"{path.name} imports the support package ({module})"
        if top == "greenminer":
            assert module == "greenminer.protocol", f"{path.name} imports the board's {module}"
        if top == "offchain" and here in RANK and room_of(module) in RANK:
            assert RANK[room_of(module)] <= RANK[here], f"{path.name} ({here}) imports a later room ({module})"


def test_imports__a_later_room_imported__is_caught(tmp_path):
    bad = tmp_path / "offchain" / "protocol" / "x.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from offchain.oracle import engine\nfrom testbed import pvdata\n")
    assert {"offchain.oracle", "testbed"} <= imports_of(bad)
    assert RANK[room_of("offchain.oracle")] > RANK["protocol"]
