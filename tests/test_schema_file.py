"""The committed schema.graphql is exactly what the code exports."""

from __future__ import annotations

from pathlib import Path

from schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is out of date: run `credentials-api export-schema` and commit it"
    )


def test_exported_schema_is_sorted() -> None:
    type_names = [
        line.split()[1]
        for line in export_sdl().splitlines()
        if line.startswith(("type ", "input ", "enum ", "interface ", "scalar ", "union "))
    ]
    assert type_names == sorted(type_names)
