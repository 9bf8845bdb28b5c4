"""The one exception tree of reporter.

    ReporterError            anything the user can fix; the CLI prints it as one line, exit 2
    ├── UsageError           bad command-line arguments or flag values
    ├── ConfigError          run.toml / --config values that fail validation (every problem at once)
    ├── InputError           a file that cannot be read as what it claims to be
    │   ├── HistoryError     a training history (log, CSV, JSON) that is missing, empty or malformed
    │   └── DatasetError     a dataset label file that cannot be profiled
    ├── RenderError          a report that could not be produced (missing font, template error)
    ├── OutputError          the output folder cannot be written (read-only, full disk, permissions)
    └── DeliveryError        a message that could not be sent (network, credentials, a platform's refusal);
                             it never touches the reports: recorded in batch.json, exit status 1

Anything else escaping the library is a bug: the CLI reports it as an internal error, exit 1.
Messages name the file (and line or key where it helps) and what to do, because users see them
in cron mail with no other context.
"""

from __future__ import annotations


class ReporterError(Exception):
    """Root of every error the user can act on."""


class UsageError(ReporterError):
    """The command line asked for something that cannot be done."""


class ConfigError(ReporterError):
    """A configuration file or value is invalid; the message lists every problem found."""


class InputError(ReporterError):
    """An input file cannot be used."""


class HistoryError(InputError):
    """A training history cannot be read."""


class DatasetError(InputError):
    """A dataset label file cannot be read or profiled."""


class RenderError(ReporterError):
    """A report could not be rendered."""


class OutputError(ReporterError):
    """The output folder cannot be written; the message names the path and what to do."""


class DeliveryError(ReporterError):
    """A message to e-mail or chat could not be delivered; the text names the channel, never a secret."""
