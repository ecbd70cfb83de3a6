"""Reading an uploaded CSV file as a stream of rows: UTF-8 with or without BOM, comma or
semicolon separated. A file that is not such a CSV raises FileProblem with a message
that says what is wrong, never an encoding or parser traceback."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from services.csv_io.columns import Column, column_for_header
from services.csv_io.errors import ImportErrorCode

# The csv module's default per-field limit (128 KiB); nothing legitimate comes near it.
MAX_FIELD_BYTES = csv.field_size_limit()
_SNIFF_BYTES = 64 * 1024


class FileProblem(Exception):
    """The file as a whole cannot be read; `row` is where reading stopped (1: header)."""

    def __init__(self, code: ImportErrorCode, message: str, row: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row


@dataclass(frozen=True)
class Header:
    """Which column is at which position; unknown columns are ignored."""

    positions: dict[Column, int]
    delimiter: str


class _CountingReader(io.RawIOBase):
    """Counts the bytes read, for progress."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


def _delimiter_of(header_line: str) -> str:
    """Semicolons when the header has more of them than commas (spreadsheets in locales
    with decimal commas write those), else commas."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


class CsvRows:
    """Iterates (row number, cells) of the data rows after reading the header."""

    def __init__(self, stream: BinaryIO) -> None:
        start = stream.read(_SNIFF_BYTES)
        if b"\x00" in start:
            raise FileProblem(
                ImportErrorCode.NOT_CSV,
                "This is not a CSV file (it contains binary data): save the sheet as "
                "CSV UTF-8 and upload that.",
            )
        if not start.strip(codecs.BOM_UTF8 + b" \r\n\t"):
            raise FileProblem(
                ImportErrorCode.NO_HEADER,
                "The file is empty: its first row must be the header (see the template).",
            )
        stream.seek(0)
        self._counter = _CountingReader(stream)
        buffered = io.BufferedReader(self._counter, buffer_size=256 * 1024)
        self._text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
        self.row_number = 0
        header_line = self._next_line()
        self.delimiter = _delimiter_of(header_line)
        # The text stream itself after the header line: csv reads it in C, line by line.
        self._reader = csv.reader(
            itertools.chain((header_line,), self._text), delimiter=self.delimiter, strict=False
        )
        header_cells = self._next_cells()
        if header_cells is None:  # pragma: no cover - the sniff above saw content
            raise FileProblem(ImportErrorCode.NO_HEADER, "The file has no header row.")
        positions: dict[Column, int] = {}
        for index, title in enumerate(header_cells):
            column = column_for_header(title)
            if column is not None and column not in positions:
                positions[column] = index
        self.header = Header(positions, self.delimiter)

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes_read

    def _next_line(self) -> str:
        try:
            return self._text.readline()
        except UnicodeDecodeError:
            raise self._not_utf8() from None

    def _not_utf8(self) -> FileProblem:
        return FileProblem(
            ImportErrorCode.NOT_UTF8,
            f"Row {self.row_number + 1} is not valid UTF-8: save the file as CSV UTF-8 "
            "(in Excel: Save As, CSV UTF-8) and upload it again.",
            self.row_number + 1,
        )

    def _next_cells(self) -> list[str] | None:
        try:
            cells = next(self._reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            raise self._problem(error) from None
        if cells is not None:
            self.row_number += 1
        return cells

    def _problem(self, error: csv.Error | UnicodeDecodeError) -> FileProblem:
        if isinstance(error, UnicodeDecodeError):
            return self._not_utf8()
        row = self.row_number + 1
        if "field larger than field limit" in str(error):
            return FileProblem(
                ImportErrorCode.FIELD_TOO_LARGE,
                f"Row {row} has a cell over {MAX_FIELD_BYTES // 1024} KB: is it the "
                "right file? (A quote left open makes the rest of a file one cell.)",
                row,
            )
        return FileProblem(ImportErrorCode.MALFORMED, f"Row {row} is not valid CSV: {error}.", row)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in self._reader:
                self.row_number += 1
                # Blank lines, as spreadsheets leave at the end, are skipped (the first
                # cell answers for most rows).
                if (cells and cells[0].strip()) or any(cell.strip() for cell in cells):
                    yield self.row_number, cells
        except (csv.Error, UnicodeDecodeError) as error:
            raise self._problem(error) from None
