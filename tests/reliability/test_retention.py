"""The size cap of the default recordings folder: oldest pruned first, never the one in use or kept,
configurable in the config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gildash.engine.config import ConfigError, load_config
from gildash.engine.recording import Recorder
from gildash.engine.retention import DEFAULT_MAX_MB, prune, prune_default, recordings_dir

MB = 1024 * 1024


def _recording(folder: Path, name: str, size: int, age_s: int) -> Path:
    path = folder / name
    with Recorder(path):
        pass
    with path.open("ab") as fh:
        fh.write(b"\n" * (size - path.stat().st_size))
    then = 1_700_000_000 - age_s
    os.utime(path, (then, then))
    return path


def test_oldest_are_pruned_first_down_to_the_cap(tmp_path: Path) -> None:
    old = _recording(tmp_path, "a.jsonl", 3 * MB, age_s=300)
    mid = _recording(tmp_path, "b.jsonl", 3 * MB, age_s=200)
    new = _recording(tmp_path, "c.jsonl", 3 * MB, age_s=100)
    other = tmp_path / "notes.txt"
    other.write_bytes(b"x" * 5 * MB)
    done = prune(tmp_path, 7 * MB)
    assert done.removed == (old,)
    assert done.freed_bytes == 3 * MB and done.total_bytes == 6 * MB and not done.over_cap
    assert mid.exists() and new.exists() and other.exists()  # only *.jsonl count


def test_the_recording_in_use_and_the_kept_one_are_never_pruned(tmp_path: Path) -> None:
    in_use = _recording(tmp_path, "a.jsonl", 2 * MB, age_s=300)
    kept = _recording(tmp_path, "b.jsonl", 2 * MB, age_s=200)
    spare = _recording(tmp_path, "c.jsonl", 2 * MB, age_s=100)
    with Recorder(in_use):  # open: another gildash is appending to it
        done = prune(tmp_path, 1 * MB, keep=[kept])
    assert done.removed == (spare,)
    assert in_use.exists() and kept.exists()
    assert done.over_cap and done.total_bytes == 4 * MB
    assert prune(tmp_path, 1 * MB, keep=[kept]).removed == (in_use,)  # closed: no longer in use


def test_no_cap_and_under_cap_remove_nothing(tmp_path: Path) -> None:
    _recording(tmp_path, "a.jsonl", 2 * MB, age_s=100)
    assert prune(tmp_path, 0).removed == ()
    assert prune(tmp_path, 10 * MB).removed == ()
    assert prune(tmp_path / "missing", 1).removed == ()


def test_symlinks_and_folders_are_never_followed(tmp_path: Path) -> None:
    outside = _recording(tmp_path, "outside.jsonl", 2 * MB, age_s=500)
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "link.jsonl").symlink_to(outside)
    (folder / "dir.jsonl").mkdir()
    assert prune(folder, 1).removed == ()
    assert outside.exists()


def test_the_cap_is_read_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[recordings]\nmax_mb = 3\n")
    assert load_config(config).recordings_max_mb == 3
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = recordings_dir()
    folder.mkdir(parents=True)
    old = _recording(folder, "old.jsonl", 2 * MB, age_s=200)
    new = _recording(folder, "new.jsonl", 2 * MB, age_s=100)
    assert prune_default(3).removed == (old,)
    assert new.exists()
    assert prune_default(None).removed == ()  # the default cap
    assert DEFAULT_MAX_MB >= 100


@pytest.mark.parametrize("value", ["-1", '"big"', "1.5", "true"])
def test_a_bad_cap_is_one_error_naming_the_file(tmp_path: Path, value: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[recordings]\nmax_mb = {value}\n")
    with pytest.raises(ConfigError, match=str(config)):
        load_config(config)
