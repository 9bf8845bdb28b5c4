"""Extract messages from the templates and merge them into the zh and en catalogs.

Run after changing a template's messages: `python tools/update_catalogs.py`. New zh messages are left
untranslated (and the catalog test fails) until someone translates them; en msgstr copies the msgid.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "templates" / "locale"


def main() -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-o",
                    str(LOCALE / "messages.pot"), "--no-location", "--sort-output", "--omit-header", "templates"],
                   cwd=ROOT, check=True)
    template = read_po((LOCALE / "messages.pot").open("rb"))
    for lang in ("zh", "en"):
        path = LOCALE / lang / "LC_MESSAGES" / "messages.po"
        catalog = read_po(path.open("rb"), locale="zh_Hans_CN" if lang == "zh" else "en") if path.exists() else None
        if catalog is None:
            catalog = Catalog(locale="zh_Hans_CN" if lang == "zh" else "en", project="reporter")
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            untranslated = not all(message.string) if isinstance(message.string, tuple) else not message.string
            if message.id and lang == "en" and untranslated:
                message.string = message.id  # a plural message: (singular, plural), the two English forms
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(path, catalog, created)


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=False, no_location=True, sort_output=True, width=0, ignore_obsolete=True)
    return buffer.getvalue()


def _write_if_changed(path: Path, catalog: Catalog, created: datetime) -> None:
    """The catalog, with a new POT-Creation-Date only when a message changed: a run that changes nothing leaves
    the file as it was, so the date is no diff noise."""
    new = catalog.creation_date
    catalog.creation_date = created
    unchanged = _po_bytes(catalog)
    if path.exists() and path.read_bytes() == unchanged:
        return
    catalog.creation_date = new
    path.write_bytes(_po_bytes(catalog))


if __name__ == "__main__":
    main()
