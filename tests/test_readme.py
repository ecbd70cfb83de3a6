"""The README's commands work when pasted: each names a program a fresh shell in the project
root has (the system `python3` running a script of ours, or what the bootstrap installs
into .venv), its arguments are ones the program accepts, and the safe ones are run, as
written, in a clean environment."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# Programs that are not ours, shown for the operator's own machine; checked by name only.
EXTERNAL = {"curl", "pg_dump", "pg_restore"}
# Inline code that starts like this is a command (other inline code is a name or a value).
COMMAND_STARTS = (
    "python3 ",
    ".venv/bin/",
    "FUZZ_EXAMPLES=",
    "GRAPHIQL_ASSETS_URL=",
    "pg_dump ",
    "pg_restore ",
    "curl ",
)
ENTRY_POINTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


@dataclass(frozen=True)
class Command:
    line: int
    text: str

    @property
    def words(self) -> list[str]:
        # A command substitution stands for one word: $(date +%F) in a file name.
        words = shlex.split(re.sub(r"\$\([^)]*\)", "X", self.text), comments=True)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before a command
            words.pop(0)
        return words

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def _shell_blocks() -> list[Command]:
    commands: list[Command] = []
    in_block = False
    pending = ""
    for number, line in enumerate(README.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```sh"
            continue
        if not in_block or not stripped:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        if not text.startswith(("#", "export ")):
            commands.append(Command(number, text))
    return commands


def _inline_commands() -> list[Command]:
    commands = []
    for match in re.finditer(r"`([^`\n]+(?:\n[^`\n]+)?)`", README):
        text = " ".join(match.group(1).split())
        if text.startswith(COMMAND_STARTS):
            commands.append(Command(README.count("\n", 0, match.start()) + 1, text))
    return commands


COMMANDS = _shell_blocks() + _inline_commands()


def _is_safe(command: Command) -> bool:
    """Runs in a moment, needs no service and changes nothing."""
    words = command.words
    if words[:2] == ["python3", "-c"]:
        return True
    if words[0] == ".venv/bin/credentials-api":
        return words[-1] == "--help" or words[1:] == ["export-schema", "--check"]
    return False


def _accepted(args: list[str]) -> bool:
    try:
        build_parser().parse_args(args)
    except SystemExit as exited:  # --help exits 0, a refusal 2
        return exited.code == 0
    return True


def _clean_environment() -> dict[str, str]:
    """A fresh login shell's: the system's own PATH, no virtualenv, none of our settings."""
    path = subprocess.run(
        ["getconf", "PATH"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"PATH": path or os.defpath, "HOME": os.environ.get("HOME", "/")}


def test_the_readme_has_commands_and_the_quick_start_has_two() -> None:
    quick_start = [c.text.split("#")[0].strip() for c in _shell_blocks()[:2]]
    assert quick_start == ["python3 scripts/serve.py", "python3 scripts/test.py"]
    assert len(COMMANDS) > 10
    assert any(_is_safe(command) for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_command_names_a_program_a_fresh_shell_has(command: Command) -> None:
    program, *args = command.words
    if program in EXTERNAL:
        return
    if program == "python3":  # the system's: our scripts, or a one-liner
        assert args[0] == "-c" or (ROOT / args[0]).is_file(), command
        return
    assert program.startswith(".venv/bin/"), f"{command}: not on a fresh shell's PATH"
    name = program.removeprefix(".venv/bin/")
    if name == "python":
        assert args[0] == "-m", command
        assert importlib.util.find_spec(args[1]) is not None, command
        return
    if name not in ENTRY_POINTS:  # a tool the lock installs, named in passing
        assert (ROOT / program).exists(), f"{command}: the bootstrap installs no {program}"
        return
    assert _accepted(args), f"{command}: arguments refused"


@pytest.mark.parametrize("command", [c for c in COMMANDS if _is_safe(c)], ids=str)
def test_each_safe_command_runs_as_written(command: Command) -> None:
    entry_point = ROOT / ".venv/bin/credentials-api"
    if ".venv/bin/credentials-api" in command.text:
        assert entry_point.exists(), "not installed: run `python3 scripts/test.py` once"
    result = subprocess.run(
        ["/bin/sh", "-c", command.text],
        cwd=ROOT,
        env=_clean_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
