"""Make `.venv` hold exactly the locked dependencies; stdlib only, so it runs anywhere
Python 3.11+ does. Re-installs only when requirements.lock changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
_STAMP = VENV / ".installed-lock-sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must say so on older Pythons
        raise SystemExit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if not _STAMP.exists() or _STAMP.read_text().strip() != wanted:
        print("installing the locked dependencies into .venv ...", flush=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--requirement",
                str(LOCK),
            ],
            check=True,
        )
        _STAMP.write_text(wanted)
    return python


def run_in_environment(*args: str, env: dict[str, str] | None = None) -> int:
    """Run `python *args` inside .venv from the project root; returns its exit code."""
    python = ensure_environment()
    merged = {**os.environ, **(env or {})}
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), merged.get("PYTHONPATH")]))
    return subprocess.run([str(python), *args], cwd=ROOT, env=merged).returncode
