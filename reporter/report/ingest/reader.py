"""What a history format is to ingest: a `Reader` that recognises it, reads it, and knows where frameworks put it.

Each format module exports its readers; `reporter.report.ingest.registry` tries them in one stated order, for a
file the user names, for the files of a run folder, and for batch discovery alike. A reader reads a
`Target`: the path, the run folder its sources are named from, and whether the user named it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Callable

from reporter.errors import HistoryError, ReporterError
from reporter.model import Source
from reporter.report.ingest.files import TextFile, read_text
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.sidefiles import is_side_file

TEXT_FILES = ("*.log", "*.txt", "*.csv", "*.tsv", "*.json", "*.jsonl")
"""Names a text history hides behind in a run folder: labs rename freely, so every text reader looks at all."""

Read = tuple[ParsedHistory, list[Source]]


@dataclass
class Target:
    """A file or folder to recognise and read, its text read at most once (sniffing and parsing share it).

    `named` is True when the user named it (run.toml's history, --source, the report argument): readers
    then accept more, so a wrong guess ends in the parser's precise error instead of being skipped.
    """

    path: Path
    base: Path
    named: bool = False
    selector: str | None = None
    _file: TextFile | None = field(default=None, repr=False)

    @property
    def file(self) -> TextFile:
        """The decoded text.

        Raises:
            HistoryError: missing, empty, binary or too large (see files.read_text).
        """
        if self._file is None:
            self._file = read_text(self.path, HistoryError)
        return self._file

    @property
    def shown(self) -> str:
        """The path as sources list it: relative to the run folder when inside it."""
        return str(self.path.relative_to(self.base)) if self.path.is_relative_to(self.base) else self.path.name


@dataclass(frozen=True)
class Reader:
    """One history format.

    name: the format's name in errors. sniff: cheap recognition on the name or the first bytes/lines.
    read: the history and the files it came from. files: name patterns (lower case) of files in a run
    folder this reader may recognise. layouts: glob patterns below a run folder that show the format
    is there (batch discovery). locate: the histories the format's layouts hold in a folder.
    suffixes: a named file with one of these is read here when no reader recognises its content.
    """

    name: str
    sniff: Callable[[Target], bool]
    read: Callable[[Target], Read]
    files: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()
    locate: Callable[[Path], list[Path]] | None = None
    suffixes: tuple[str, ...] = ()

    def reads_name(self, name: str) -> bool:
        """True when a file of this name in a run folder is worth sniffing for this format."""
        return any(fnmatchcase(name.lower(), pattern) for pattern in self.files)

    def load(self, target: Target) -> Read:
        """The target read, every failure one error naming the file, as kedro's datasets wrap theirs.

        Raises:
            InputError: the parser's own (it names the file); HistoryError: any other failure of the parser.
        """
        try:
            return self.read(target)
        except (ReporterError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - a parser tripping on odd content is still bad input
            detail = str(exc).split("\n", 1)[0]  # the CLI prints one line
            raise HistoryError(f"{target.path}: cannot read it as {self.name} ({type(exc).__name__}: {detail}); "
                               "check the file, or name another with --source") from exc


def text_reader(name: str, looks_like: Callable[[Target], bool], parse: Callable[[TextFile], ParsedHistory], *,
                layouts: tuple[str, ...] = (), locate: Callable[[Path], list[Path]] | None = None,
                suffixes: tuple[str, ...] = ()) -> Reader:
    """A reader of one text file (any of TEXT_FILES), recognised by its text; the file is its one source."""

    def sniff(target: Target) -> bool:
        if target.path.is_dir() or not target.named and is_side_file(target.path):
            return False  # a file beside the history is never one, unless the user names it
        return looks_like(target)

    def read(target: Target) -> Read:
        parsed = parse(target.file)
        return parsed, [Source(target.shown, parsed.format, target.file.sha256, target.file.size)]

    return Reader(name, sniff, read, TEXT_FILES, layouts, locate, suffixes)
