"""The config's top-level `hosts` (ssh destinations the dashboard offers); a bad one names file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gildash.engine.config import ConfigError, load_config


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_hosts_are_read_in_order_without_repeats(tmp_path: Path) -> None:
    path = _config(tmp_path, 'hosts = ["bigbox", "me@other", "bigbox"]\n\n[recordings]\nmax_mb = 5\n')
    config = load_config(path)
    assert config.hosts == ("bigbox", "me@other")
    assert config.recordings_max_mb == 5
    assert load_config(_config(tmp_path, "[recordings]\nmax_mb = 5\n")).hosts == ()


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ('hosts = ["-oProxyCommand=touch /tmp/x"]\n', 1, "'-oProxyCommand=touch /tmp/x'"),  # an ssh option
        ('# mine\nhosts = [\n  "ok",\n  "big box",\n]\n', 4, "'big box'"),  # two words to ssh
        ('hosts = ["ok", ""]\n', 1, "''"),
        ('hosts = ["a\\tb"]\n', 1, "'a\\tb'"),
        ('hosts = ["a\\u0007b"]\n', 1, "'a\\x07b'"),  # a control character
        ("hosts = [1]\n", 1, "1"),
    ],
)
def test_a_bad_host_is_one_error_naming_the_file_and_line(
    tmp_path: Path, text: str, line: int, shown: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: hosts[") and f"= {shown} is not an ssh destination" in message
    assert "\n" not in message


def test_hosts_must_be_an_array(tmp_path: Path) -> None:
    path = _config(tmp_path, '\nhosts = "bigbox"\n')
    with pytest.raises(ConfigError, match=rf"^{path}:2: hosts must be an array of ssh destinations"):
        load_config(path)
