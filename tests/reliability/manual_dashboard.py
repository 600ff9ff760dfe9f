"""Run the real dashboard by hand with `r` bound to a hostile fixture (for the tmux check in the docs).

.venv/bin/python tests/reliability/manual_dashboard.py flood [fixture args...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_dashboard_hostile import hostile_app  # noqa: E402

if __name__ == "__main__":
    app, _runs = hostile_app(sys.argv[1], *sys.argv[2:])
    app.run()
