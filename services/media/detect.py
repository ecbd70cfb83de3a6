"""What a file is, decided from its first bytes: never from its name or the client's
Content-Type header, both of which the uploader chooses."""

from __future__ import annotations

# The brands of ISO base media files (the `ftyp` box) that are HEIF images, HEIC above all.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})

HEAD_BYTES = 32
ALLOWED = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "application/pdf": "PDF",
}


def content_type_of(head: bytes) -> str | None:
    """The media type of a file starting with `head` (its first HEAD_BYTES bytes), or None
    when it is none of the photos and documents credentials accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None
