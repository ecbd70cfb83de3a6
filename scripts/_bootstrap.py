"""Make `.venv` hold the locked dependencies and the project's own `credentials-api`
command; stdlib only, so it runs anywhere Python 3.11+ does.

Installs again only when requirements.lock or pyproject.toml changes. An install that did
not finish (a failed download, Ctrl-C) leaves a marker, and the next run starts again
from an empty `.venv` rather than building on a half-installed one."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
_STAMP = VENV / ".installed-lock-sha256"  # what the last finished install installed
_UNFINISHED = VENV / ".install-unfinished"  # present while an install runs


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_command(name: str) -> Path:
    """A console script installed into .venv (such as `credentials-api`)."""
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def _wanted() -> str:
    digest = hashlib.sha256(LOCK.read_bytes())
    digest.update(PYPROJECT.read_bytes())
    return digest.hexdigest()


def _create() -> None:
    _say(f"creating .venv with Python {platform.python_version()} ({sys.executable}) ...")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except subprocess.CalledProcessError:
        raise SystemExit(
            "[bootstrap] could not install pip into .venv: this Python has no ensurepip "
            "(on Debian or Ubuntu: apt install python3-venv), then run the command again"
        ) from None


def _pip(python: Path, *args: str) -> None:
    command = [str(python), "-m", "pip", *args, "--quiet", "--disable-pip-version-check"]
    code = subprocess.run(command, cwd=ROOT).returncode
    if code != 0:
        raise SystemExit(
            f"[bootstrap] pip failed (exit {code}) while installing into .venv; fix what it "
            "says above and run the command again: the next run starts from a new .venv"
        )


def ensure_environment() -> Path:
    """Create or update .venv as needed; returns its Python."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must say so on older Pythons
        raise SystemExit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    python = venv_python()
    wanted = _wanted()
    if not python.exists():
        _create()
    elif _UNFINISHED.exists():
        _say("the last install into .venv did not finish: starting again from a new .venv")
        _create()
    elif _STAMP.exists() and _STAMP.read_text().strip() == wanted:
        return python
    _UNFINISHED.touch()
    _STAMP.unlink(missing_ok=True)
    _say("installing the locked dependencies (requirements.lock) into .venv ...")
    _pip(python, "install", "--require-hashes", "--requirement", str(LOCK))
    _say("installing this project into .venv (editable: the credentials-api command) ...")
    _pip(python, "install", "--no-deps", "--no-build-isolation", "--editable", str(ROOT))
    _STAMP.write_text(wanted)
    _UNFINISHED.unlink()
    command = venv_command("credentials-api").relative_to(ROOT)
    _say(f".venv is ready; the command line is {command} (try --help)")
    return python


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    merged = {**os.environ, **(env or {})}
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), merged.get("PYTHONPATH")]))
    return merged


def exec_in_environment(*args: str) -> int:
    """Become `python *args` inside .venv (on POSIX), so that signals reach it directly:
    a process manager's SIGTERM to `scripts/serve.py` stops the server, not a wrapper
    around it. Elsewhere it runs as a child; returns its exit code."""
    python = ensure_environment()
    if os.name != "posix":
        return run_in_environment(*args)
    os.chdir(ROOT)
    os.execve(python, [str(python), *args], _environment(None))


def run_in_environment(*args: str, env: dict[str, str] | None = None) -> int:
    """Run `python *args` inside .venv from the project root; returns its exit code."""
    python = ensure_environment()
    return subprocess.run([str(python), *args], cwd=ROOT, env=_environment(env)).returncode
