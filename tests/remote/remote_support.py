"""What the remote tests share: the loopback sshd (scripts/loopback_sshd.py; conftest starts it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from loopback_sshd import LoopbackSsh, start, stop, unavailable  # noqa: E402

__all__ = ["LoopbackSsh", "start", "stop", "unavailable"]
