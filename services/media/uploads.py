"""Checking uploaded files before anything is stored: type by content, size, count."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from services.credentials.errors import CredentialErrorCode
from services.errors import DomainError, raise_all
from services.media.detect import ALLOWED, HEAD_BYTES, content_type_of

MAX_FILENAME = 255
_ACCEPTED = ", ".join(dict.fromkeys(ALLOWED.values()))


class IncomingFile(Protocol):
    """An uploaded file as the web framework hands it over (Starlette's UploadFile)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def file(self) -> IO[bytes]: ...


@dataclass(frozen=True)
class MediaLimits:
    max_file_bytes: int
    max_files: int


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int
    source: IO[bytes]


def clean_filename(raw: str | None) -> str:
    """The name to show and to offer on download: the last path component only (browsers
    send `C:\\fakepath\\...`), no control or bidi-override characters, at most 255
    characters, never empty."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if len(name) > MAX_FILENAME:
        _, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        name = name[: MAX_FILENAME - len(keep) - 1] + "." + keep if keep else name[:MAX_FILENAME]
    return name if name not in ("", ".", "..") else "file"


def _size_of(source: IO[bytes]) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_file(incoming: IncomingFile, field: str, limits: MediaLimits) -> CheckedFile:
    name = clean_filename(incoming.filename)
    source = incoming.file
    size = _size_of(source)
    if size == 0:
        raise DomainError(CredentialErrorCode.MEDIA_EMPTY, f"{name!r} is empty.", field)
    if size > limits.max_file_bytes:
        raise DomainError(
            CredentialErrorCode.MEDIA_TOO_LARGE,
            f"{name!r} is {_mb(size)}: files may be at most {_mb(limits.max_file_bytes)}.",
            field,
        )
    content_type = content_type_of(source.read(HEAD_BYTES))
    source.seek(0)
    if content_type is None:
        raise DomainError(
            CredentialErrorCode.MEDIA_TYPE_NOT_ALLOWED,
            f"{name!r} is not a photo or PDF (its content is none of {_ACCEPTED}).",
            field,
        )
    return CheckedFile(name, content_type, size, source)


def check_files(
    files: Sequence[IncomingFile], field: str, limits: MediaLimits
) -> list[CheckedFile]:
    """Every file checked; all the problems reported at once, each naming its file and
    the input position (`media.2`)."""
    if len(files) > limits.max_files:
        raise DomainError(
            CredentialErrorCode.TOO_MANY_MEDIA,
            f"{len(files)} files given: a version holds at most {limits.max_files}.",
            field,
        )
    checked, problems = [], []
    for index, incoming in enumerate(files):
        try:
            checked.append(check_file(incoming, f"{field}.{index}", limits))
        except DomainError as problem:
            problems.append(problem)
    raise_all(problems)
    return checked
