"""Target discovery on a host: a stdlib script finds and probes its interpreters with the bundle's copy of
engine.python_search (its PATH, pyenv, uv and gildash's provisioning cache there, as local discovery does)
and builds the Rust baseline when cargo exists; the answer becomes the same `Target`s as local discovery
(interpreters.targets_from_probes), each marked with its host.

Never imports textual. The script runs with the host's python3 (3.9+, checked by the link's guard).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from gildash.engine.interpreters import (
    PROBE_SCRIPT,
    Candidate,
    ProbeResult,
    parse_probe,
    targets_from_probes,
)
from gildash.engine.model import Target
from gildash.engine.remote.bundle import Bundle
from gildash.engine.remote.ssh import RemoteError, SshLink
from gildash.engine.rust_target import (
    BINARY_NAME,
    NO_CARGO_REASON,
    failure_reason,
    make_rust_target,
    version_from_output,
)

DISCOVERY_TIMEOUT_S = 60.0
"""Probing every interpreter on the host (in parallel, 5 s each at most)."""
RUST_BUILD_TIMEOUT_S = 600
"""cargo build --release of the Rust baseline on the host (the first time; later builds are no-ops)."""

# Runs on the host: argv[1] is a JSON object of settings. Prints one JSON object. The interpreters are
# found and probed by the bundle's copy of engine.python_search, as local discovery does here.
_DISCOVER = r"""
import json, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
opts = json.loads(sys.argv[1])
sys.path.insert(0, opts["pythonpath"])
from gildash.engine import paths, python_search
home = os.path.expanduser("~")
seen, unique = set(), []
for p, src in python_search.search(os.environ.get("PATH", "")):
    key = os.path.realpath(p)
    if key not in seen:
        seen.add(key)
        unique.append((p, src))
def probe(item):
    p, src = item
    ran = python_search.run_probe(p, opts["probe"], {}, 5)
    if isinstance(ran, str):
        return {"path": p, "source": src, "error": ran}
    out, err, code = ran
    return {"path": p, "source": src, "out": out, "err": err, "returncode": code}
with ThreadPoolExecutor(max_workers=8) as pool:
    probed = list(pool.map(probe, unique))
rust = None
if opts.get("rust_src"):
    cargo = shutil.which("cargo")
    if cargo is None:
        c = os.path.join(os.environ.get("CARGO_HOME") or os.path.join(home, ".cargo"), "bin", "cargo")
        cargo = c if os.path.isfile(c) and os.access(c, os.X_OK) else None
    if cargo is None:
        rust = {"cargo": None}
    else:
        tdir = str(paths.cache_dir() / "remote-rust-target")
        argv = [cargo, "build", "--release", "--offline", "--quiet", "--manifest-path",
                os.path.join(opts["rust_src"], "Cargo.toml"), "--target-dir", tdir]
        rust = {"cargo": cargo}
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
            try:
                _, err = proc.communicate(timeout=opts["rust_timeout"])
                rust.update(returncode=proc.returncode, err=err.decode("utf-8", "replace")[-4000:])
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.communicate()
                rust["timeout"] = True
        except OSError as exc:
            rust["oserror"] = str(exc)
        binary = os.path.join(tdir, "release", opts["binary"])
        if rust.get("returncode") == 0 and os.path.isfile(binary):
            rust["binary"] = binary
            try:
                rust["version_out"] = subprocess.run([binary, "--version"], capture_output=True,
                                                     timeout=10).stdout.decode("utf-8", "replace")
            except Exception:
                rust["version_out"] = ""
sys.stdout.write(json.dumps({"gildash_discovery": 1, "probed": probed, "rust": rust}))
"""


def discovery_argv(bundle: Bundle, *, rust: bool) -> list[str]:
    """The host command that discovers (and, with rust, builds the Rust baseline) using the bundle's files."""
    opts = {
        "pythonpath": bundle.pythonpath,
        "probe": PROBE_SCRIPT,
        "rust_src": bundle.rust_src if rust else None,
        "rust_timeout": RUST_BUILD_TIMEOUT_S,
        "binary": BINARY_NAME,
    }
    return ["python3", "-c", _DISCOVER, json.dumps(opts)]


def parse_discovery(host: str, text: str, *, rust: bool) -> list[Target]:
    """The discovery script's JSON -> the host's targets, ordered like local discovery (pure).

    RemoteError when the answer is not what the script prints.
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or data.get("gildash_discovery") != 1
        or not isinstance(data.get("probed"), list)
    ):
        raise RemoteError(f"{host}: target discovery gave no answer gildash understands")
    probed: list[tuple[Candidate, ProbeResult | str]] = []
    for item in data["probed"]:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        cand = Candidate(item["path"], str(item.get("source", "PATH")))
        if isinstance(item.get("error"), str):
            probed.append((cand, item["error"]))
            continue
        code = item.get("returncode")
        res = parse_probe(
            item["path"],
            str(item.get("out", "")),
            str(item.get("err", "")),
            code if isinstance(code, int) else None,
        )
        probed.append((cand, res))
    rust_target = _rust_from(data.get("rust")) if rust else None
    return [replace(t, host=host) for t in targets_from_probes(probed, rust_target)]


def _rust_from(info: Any) -> Target:
    if not isinstance(info, dict):
        return make_rust_target(None, "", "the Rust sources were not copied to the host")
    if not info.get("cargo"):
        return make_rust_target(None, "", NO_CARGO_REASON.replace("on PATH", "on the host's PATH"))
    if info.get("timeout"):
        return make_rust_target(None, "", f"cargo build timed out after {RUST_BUILD_TIMEOUT_S} s on the host")
    if isinstance(info.get("oserror"), str):
        return make_rust_target(None, "", f"cannot run cargo on the host: {info['oserror']}"[:200])
    binary = info.get("binary")
    if not isinstance(binary, str):
        code = info.get("returncode")
        return make_rust_target(
            None, "", failure_reason(str(info.get("err", "")), code if isinstance(code, int) else -1)
        )
    return make_rust_target(binary, version_from_output(str(info.get("version_out", ""))), "")


def discover_remote(link: SshLink, bundle: Bundle, *, include_rust: bool = True) -> list[Target]:
    """Every usable interpreter on the link's host (plus the Rust baseline); RemoteError on failure."""
    proc = link.run(
        discovery_argv(bundle, rust=include_rust), timeout=DISCOVERY_TIMEOUT_S + RUST_BUILD_TIMEOUT_S
    )
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[-160:]
        raise RemoteError(f"{link.host}: target discovery failed ({err or f'exit code {proc.returncode}'})")
    return parse_discovery(link.host, proc.stdout.decode("utf-8", "replace"), rust=include_rust)
