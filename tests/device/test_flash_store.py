"""greenminer.store: atomic JSON files that survive a power loss at any point."""

import os

import pytest

from greenminer import store as store_mod
from greenminer.store import Store, StoreError


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "flash" / "data"))


def test_state__fresh_directory__none(store):
    assert store.load_state() is None


def test_state__saved__loaded_back(store):
    state = {"total_mwh": 2**100, "cache": [[1, 2, 3]], "prev_batch": "0x" + "ab" * 32}
    store.save_state(state)
    assert store.load_state() == state
    assert not os.path.exists(os.path.join(store.directory, "state.json.tmp"))


def test_state__torn_tmp_beside_main__main_wins(store):
    store.save_state({"n": 1})
    with open(os.path.join(store.directory, "state.json.tmp"), "w") as f:
        f.write('{"n": 2')  # power lost while writing the next state
    assert store.load_state() == {"n": 1}


def test_state__main_removed_before_rename__complete_tmp_used(store):
    store.save_state({"n": 1})
    main = os.path.join(store.directory, "state.json")
    with open(main + ".tmp", "w") as f:
        f.write('{"n": 2}')
    os.remove(main)  # FAT path: old file removed, power lost before the rename
    assert store.load_state() == {"n": 2}


def test_state__first_write_torn__never_written(store):
    with open(os.path.join(store.directory, "state.json.tmp"), "w") as f:
        f.write('{"n"')
    assert store.load_state() is None


def test_state__main_unreadable__refuses_to_start_from_zero(store):
    with open(os.path.join(store.directory, "state.json"), "w") as f:
        f.write("garbage")
    with pytest.raises(StoreError):
        store.load_state()


def test_save__rename_refuses_existing_target__falls_back_like_fat(store, monkeypatch):
    real_rename = os.rename

    def fat_rename(src, dst):
        if os.path.exists(dst):
            raise OSError(17, "EEXIST")
        real_rename(src, dst)

    monkeypatch.setattr(store_mod.os, "rename", fat_rename)
    store.save_state({"n": 1})
    store.save_state({"n": 2})
    assert store.load_state() == {"n": 2}


def test_outbox__write_list_read_remove(store):
    store.write_batch(3, {"seq": 3})
    store.write_batch(1, {"seq": 1})
    store.write_batch(12, {"seq": 12})
    assert store.outbox_seqs() == [1, 3, 12]
    assert store.read_batch(3) == {"seq": 3}
    store.remove_batch(3)
    assert store.outbox_seqs() == [1, 12]
    assert store.read_batch(3) is None


def test_store__root_directory_paths_have_one_slash():
    assert store_mod._join("/", "state.json") == "/state.json"
    assert store_mod._join("/data/", "x") == "/data/x"


def test_store__no_sync__same_files(tmp_path):
    fast = Store(str(tmp_path), sync=False)
    fast.save_state({"n": 1})
    assert Store(str(tmp_path)).load_state() == {"n": 1}
