"""Histories pandas wrote: `pd.DataFrame(history.history).to_csv(...)`, how Keras users and hand-written
training loops save a dict of per-epoch lists.

With the index (`to_csv()`'s default) the first header cell is empty (pandas reads it back as "Unnamed: 0") and
that column is the epoch, used as written (0-based unless the user renumbered it). Without it (`index=False`)
the rows are the epochs in order, numbered from 0 as Keras numbers them (`History.epoch` and CSVLogger's
`epoch` column both count from 0). Both need a header that reads as a history, so any other numeric CSV is
still refused: an unnamed index beside a loss column, or, without an index, a Keras History's own keys
(`loss`, `val_loss`, and each `val_<metric>` beside its `<metric>`).
"""

from __future__ import annotations

import re

import pandas as pd

from reporter.errors import HistoryError
from reporter.report.ingest.files import TextFile
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import Target, text_reader
from reporter.report.ingest.tabular import (
    finish_parsed,
    header_cells,
    long_from_wide,
    numeric_column,
    read_table,
    x_column,
)

INDEX_NAMES = ("", "unnamed: 0")
"""How the unnamed index column's header reads: empty in the file, "Unnamed: 0" once pandas read and rewrote it."""
EPOCH = "epoch"
_KERAS_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def has_index(columns: list[str]) -> bool:
    """An unnamed first column beside a loss column, and no named epoch/step column."""
    return (len(columns) > 1 and columns[0].lower() in INDEX_NAMES and x_column(columns) is None
            and any("loss" in column.lower() for column in columns[1:]))


def is_keras_history(columns: list[str]) -> bool:
    """The keys of a Keras `History.history`: loss and val_loss, identifiers only, each val_<m> beside its <m>;
    no epoch/step column (CSVLogger's file names one and is the generic CSV reader's)."""
    names = set(columns)
    return ({"loss", "val_loss"} <= names and x_column(columns) is None and all(_KERAS_KEY.match(column) for column in columns)
            and all(column[len("val_"):] in names for column in columns if column.startswith("val_")))


def parse_dataframe_csv(file: TextFile) -> ParsedHistory:
    """The history with its epochs from the unnamed index column, or from the row order counted from 0.

    Raises:
        HistoryError: the unnamed first column holds something other than epoch numbers, no numbers at all, or
            a malformed CSV (see tabular.read_table).
    """
    skipped: list[int] = []
    table = read_table(file, skipped)
    if has_index(list(table.columns)):
        table = table.rename(columns={table.columns[0]: EPOCH})
        epochs = numeric_column(table[EPOCH])
        if len(epochs) != len(table) or not bool((epochs >= 0).all() and (epochs % 1 == 0).all()):
            raise HistoryError(f"{file.path}: the unnamed first column is not an epoch index (whole numbers from 0); "
                               "name the epoch column 'epoch'")
    else:
        table.insert(0, EPOCH, pd.RangeIndex(len(table)))
    return finish_parsed(ParsedHistory(format="dataframe-csv", skipped_lines=skipped), long_from_wide(table, EPOCH, "epoch"), file, EPOCH)


def _dataframe_csv(target: Target) -> bool:
    text = target.file.text.lstrip("\ufeff")
    if text.lstrip().startswith(("[", "{")):
        return False
    columns = header_cells(text)
    return has_index(columns) or is_keras_history(columns)


READER = text_reader("dataframe-csv", _dataframe_csv, parse_dataframe_csv)
