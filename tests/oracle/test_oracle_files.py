"""The oracle's files: key files (0o600, never overwritten), the state file (atomic), the lock."""

import json
import os
import stat

import pytest

from offchain import oracle
from offchain.oracle import OracleError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_write_key_file__mode_0600_in_a_0700_folder(tmp_path):
    path = oracle.key_path(tmp_path, 3)
    oracle.write_key_file(path, 12345)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert oracle.read_key_file(path) == 12345


def test_write_key_file__existing_file__refused_and_kept(tmp_path):
    path = oracle.key_path(tmp_path, 3)
    oracle.write_key_file(path, 111)
    with pytest.raises(FileExistsError):
        oracle.write_key_file(path, 222)
    assert oracle.read_key_file(path) == 111


def test_write_key_file__umask_cannot_widen_the_mode(tmp_path):
    old = os.umask(0)
    try:
        path = oracle.key_path(tmp_path, 1)
        oracle.write_key_file(path, 5)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_key_file__missing__none(tmp_path):
    assert oracle.read_key_file(oracle.key_path(tmp_path, 9)) is None


@pytest.mark.parametrize("content", ["", "0x", "0x12", "0x" + "zz" * 32, "0x" + "00" * 32, f"0x{N:064x}"])
def test_read_key_file__not_a_key__one_line_error(tmp_path, content):
    path = oracle.key_path(tmp_path, 1)
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(OracleError, match="holds no valid secret key") as err:
        oracle.read_key_file(path)
    assert "\n" not in str(err.value)


def test_ensure_key_file__existing_key__reused(tmp_path):
    path = oracle.key_path(tmp_path, 4)
    first = oracle.ensure_key_file(path)
    assert oracle.ensure_key_file(path) == first
    assert 0 < first < N


def test_ensure_key_file__torn_file_from_a_crash__replaced(tmp_path):
    path = oracle.key_path(tmp_path, 4)
    path.parent.mkdir()
    path.write_text("0x12")  # crash in the middle of the write
    sk = oracle.ensure_key_file(path)
    assert oracle.read_key_file(path) == sk
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_new_secret__fresh_each_time():
    assert len({oracle.new_secret() for _ in range(20)}) == 20


def test_write_state__round_trip_and_no_temp_file_left(tmp_path):
    state = oracle.new_state(1337, "0x" + "11" * 20, "0x" + "22" * 20, from_epoch=5)
    oracle.epoch_record(state, 5)["state"] = oracle.COMMITTED
    path = oracle.state_path(tmp_path)
    oracle.write_state(path, state)
    assert oracle.read_state(path) == state
    assert sorted(p.name for p in tmp_path.iterdir()) == [oracle.STATE_FILE]


def test_write_state__crash_before_rename__old_state_intact(tmp_path, monkeypatch):
    path = oracle.state_path(tmp_path)
    old = oracle.new_state(1, "0x" + "11" * 20, "0x" + "22" * 20)
    oracle.write_state(path, old)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(oracle.state.os, "replace", crash)
    with pytest.raises(OSError):
        oracle.write_state(path, {**old, "from_epoch": 9})
    assert oracle.read_state(path) == old


def test_read_state__missing__none(tmp_path):
    assert oracle.read_state(oracle.state_path(tmp_path)) is None


def test_read_state__other_format__refused(tmp_path):
    path = oracle.state_path(tmp_path)
    path.write_text(json.dumps({"format": 99}))
    with pytest.raises(OracleError, match="format 99"):
        oracle.read_state(path)


def test_check_state_deployment__other_contracts__one_line_error():
    state = oracle.new_state(1337, "0x" + "11" * 20, "0x" + "22" * 20)
    oracle.check_state_deployment(state, 1337, "0x" + "11" * 20, "0x" + "22" * 20)
    with pytest.raises(OracleError, match="belongs to chain 1337") as err:
        oracle.check_state_deployment(state, 1337, "0x" + "33" * 20, "0x" + "22" * 20)
    assert "\n" not in str(err.value)


def test_folder_lock__second_holder__refused(tmp_path):
    with oracle.FolderLock(tmp_path):
        with pytest.raises(OracleError, match="another oracle"):
            with oracle.FolderLock(tmp_path):
                pass
    with oracle.FolderLock(tmp_path):  # free again
        pass


def test_folder_of_store__memory__refused():
    with pytest.raises(OracleError, match="in-memory"):
        oracle.folder_of_store(":memory:")


def test_folder_of_store__file_and_url__its_folder(tmp_path):
    assert oracle.folder_of_store(tmp_path / "a" / "store.sqlite") == tmp_path / "a"
    assert oracle.folder_of_store(f"sqlite:///{tmp_path}/b/store.sqlite") == tmp_path / "b"


def test_table_uri__file_or_base_url(tmp_path):
    path = oracle.table_path(tmp_path, 12)
    assert oracle.table_uri(path) == path.resolve().as_uri()
    assert oracle.table_uri(path, "https://oracle.example/tables/") == "https://oracle.example/tables/epoch-12.json"
    with pytest.raises(OracleError, match="takes 256"):
        oracle.table_uri(path, "https://x/" + "a" * 250)
