"""Serve the API at http://127.0.0.1:8000/graphql on the embedded default (a SQLite file,
in-process broadcast, demo data), installing what is missing first."""

from __future__ import annotations

import sys

from _bootstrap import exec_in_environment

if __name__ == "__main__":
    raise SystemExit(exec_in_environment("-m", "server", "serve", *sys.argv[1:]))
