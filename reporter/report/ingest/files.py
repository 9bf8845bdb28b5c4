"""Reading untrusted files: bounded in size, decoded with fallbacks, checksummed.

Every read of a user's file goes through here, so limits and error wording live in one place.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reporter.errors import InputError, ReporterError

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Larger inputs are refused with a clear message instead of exhausting memory."""
MAX_LINE_CHARS = 100_000
"""A longer line is not a log line; refusing it avoids pathological regexes and parses."""
ENCODINGS = ("utf-8-sig", "gb18030", "latin-1")
"""Logs from Chinese Windows machines are often GBK; latin-1 accepts any byte sequence last."""
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))
"""Byte-order marks of the encodings whose text holds NUL bytes (Excel and PowerShell save UTF-16 with one);
UTF-32 first, since its little-endian mark starts with UTF-16's."""


@dataclass(frozen=True)
class TextFile:
    path: Path
    text: str
    sha256: str
    size: int


def read_bytes(path: Path, error: type[ReporterError] = InputError) -> bytes:
    """The file's bytes, or one clear error naming it.

    Raises:
        InputError (or the subclass given): missing, unreadable, empty or too large.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise error(f"{path}: file not found; check the path") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror}); check permissions") from None
    if size == 0:
        raise error(f"{path}: file is empty; point at a history that has entries")
    if size > MAX_FILE_BYTES:
        raise error(
            f"{path}: file is {size / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES // 2**20} MiB limit; "
            "split it or trim old sessions"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror}); check permissions") from None


def decode(data: bytes, path: Path, error: type[ReporterError] = InputError) -> str:
    """Text from bytes: UTF-16/32 when a byte-order mark says so, else UTF-8, then GB18030, then latin-1.

    Raises:
        InputError: the bytes look binary (NUL bytes, and no UTF-16/32 byte-order mark that decodes).
    """
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    if encoding is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass  # not UTF-16/32 after all: the mark was a coincidence, read on as below
    if b"\x00" in data[:65536]:
        raise error(f"{path}: looks like a binary file, not text; point at the text history instead")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise error(f"{path}: cannot decode the text")  # pragma: no cover - latin-1 accepts all bytes


def read_text(path: Path, error: type[ReporterError] = InputError) -> TextFile:
    """A bounded, decoded, checksummed text file.

    Raises:
        InputError (or the subclass given): see read_bytes and decode.
    """
    data = read_bytes(path, error)
    text = decode(data, path, error)
    if not text or text.isspace():  # not text.strip(): that copies a large file once more
        raise error(f"{path}: file has no text; point at a history that has entries")
    return TextFile(path=path, text=text, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def checked_lines(file: TextFile, error: type[ReporterError] = InputError) -> list[str]:
    """The file's lines, refusing any line too long to be a log line.

    Raises:
        InputError (or the subclass given): a line longer than MAX_LINE_CHARS.
    """
    lines = file.text.splitlines()
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise error(
                f"{file.path}:{number}: line has {len(line):,} characters (limit {MAX_LINE_CHARS:,}); "
                "this is not a history line"
            )
    return lines


_CHUNK = 1 << 22


def longest_line_bound(text: str | bytes) -> int:
    """At least the length of the text's longest line, without a string per line; exactly it for ASCII text
    whose lines end in a newline alone.

    Lines are cut at newlines only (a third of the time of looking for every break str.splitlines() knows):
    its other breaks (\\r alone, \\x0b, U+2028...) only split a line further, and the UTF-8 bytes between two
    newlines are never fewer than the characters between them, so the bound never falls short.
    """
    longest, start, offset = 0, 0, 0
    for begin in range(0, len(text), _CHUNK):
        chunk = text[begin:begin + _CHUNK]
        data = np.frombuffer(chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk, dtype=np.uint8)
        breaks = np.flatnonzero(data == ord("\n")) + offset
        if len(breaks):
            longest = max(longest, int(breaks[0]) - start, int(np.diff(breaks).max(initial=1)) - 1)
            start = int(breaks[-1]) + 1
        offset += len(data)
    return max(longest, offset - start)


def check_line_lengths(file: TextFile, error: type[ReporterError] = InputError, encoded: bytes | None = None) -> None:
    """Refuse a line too long to be a log line, as checked_lines does, for readers that never need the lines.
    `encoded`: the text's UTF-8 bytes, when the reader made them anyway (read from them, not encoded again).

    Raises:
        InputError (or the subclass given): a line longer than MAX_LINE_CHARS, named by its number.
    """
    if longest_line_bound(file.text if encoded is None else encoded) > MAX_LINE_CHARS:
        checked_lines(file, error)
