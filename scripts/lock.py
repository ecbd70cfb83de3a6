"""Regenerate requirements.lock: one universal, hashed lock for every supported Python
and platform (uv's universal resolution records environment markers, such as
`async-timeout; python_full_version < '3.11.3'`), then install it into .venv.

Pins already in the lock are kept where pyproject.toml still allows them, so adding a
dependency changes only what it brings. Extra arguments go to `uv pip compile`:
`--upgrade` moves every pin to the newest allowed release, `--upgrade-package NAME` one.
uv itself is a dev dependency, installed into .venv from the current lock first.
"""

from __future__ import annotations

import subprocess
import sys

from _bootstrap import LOCK, ROOT, ensure_environment

COMMAND = "python3 scripts/lock.py"


def main(uv_args: list[str]) -> int:
    python = ensure_environment()
    print(f"[lock] resolving pyproject.toml for every platform into {LOCK.name} ...", flush=True)
    compile_lock = [
        str(python),
        "-m",
        "uv",
        "pip",
        "compile",
        "pyproject.toml",
        "--extra",
        "dev",
        "--universal",
        "--generate-hashes",
        # The platform's certificate store, as pip uses: a proxy's or a company's own CA.
        "--system-certs",
        "--output-file",
        LOCK.name,
        "--custom-compile-command",
        COMMAND,
        "--quiet",
        *uv_args,
    ]
    code = subprocess.run(compile_lock, cwd=ROOT).returncode
    if code != 0:
        print(f"[lock] uv pip compile failed (exit {code}); {LOCK.name} is unchanged", flush=True)
        return code
    ensure_environment()  # installs the new lock when it differs
    print(f"[lock] {LOCK.name} is up to date: commit it with pyproject.toml", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
