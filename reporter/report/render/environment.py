"""Jinja environments with Babel translations and the number filters, defined once.

Two environments per language: HTML (standard autoescape) and Markdown (autoescape with a
Markdown-safe escape, so a hostile label cannot break a table or inject a link). Catalogs are read
from the .po files at start-up, so a lab's `--templates` copy can carry its own wording.
"""

from __future__ import annotations

import functools
import io
import math
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal
from babel.support import Translations
from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from markupsafe import Markup, escape

from reporter.codes import FINDINGS, RECOMMENDATIONS
from reporter.errors import RenderError, ReporterError

BUILTIN_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
SCIENTIFIC_FROM = 1e15
"""Larger magnitudes are shown as 1.50×10²⁵: digit grouping says nothing there, and from 1e24 on Babel's
decimal context cannot even round them (a diverging loss of 1e24 crashed every report)."""
SCIENTIFIC_DECIMALS_FROM = 1e7
"""A value shown with decimals is compact from this magnitude on: 85.8M (8581.1万), not 85,811,000.0000."""
PLAIN_DOWN_TO = 1e-4
"""A value too small for its decimals is written out down to this magnitude (0.000322), below it as 3.22×10⁻⁵."""
SIGNIFICANT = 3
"""Significant digits of a value too small for its decimals, or too large for digit grouping."""
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
SENTENCE_SEPARATORS = {"zh": Markup(""), "en": Markup(" ")}
"""What joins two sentences: Chinese puts no space after a full-width stop (。), English a space."""
COLONS = {"zh": Markup("："), "en": Markup(": ")}
"""What follows a label ("Run: x"): Chinese uses the full-width colon with no space."""
LIST_SEPARATORS = {"zh": "；", "en": "; "}
"""What separates the items of a list whose items hold commas (the train/validation pairs); plain text, so the
joined keys are escaped like any other text."""
HP_DIGITS = 4
"""Significant digits of a hyperparameter float: a learning rate mid-schedule has float noise past them."""
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#])")


def md_escape(value: Any) -> Markup:
    """Text that Markdown viewers show literally: specials backslash-escaped, newlines folded."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    text = " ".join(str(value).split())
    return Markup(_MD_SPECIAL.sub(r"\\\1", text).replace("&", "&amp;"))


def css_string(value: Any) -> Markup:
    """Text inside a CSS string in a <style> block: every character outside a safe set becomes a CSS
    hex escape, so neither a quote nor `</style>` in a run name can break out."""
    text = " ".join(str(value).split())
    return Markup("".join(c if c.isalnum() or c in " .,:;_-()·/+" else f"\\{ord(c):x} " for c in text))


def css_counter(name: str) -> Markup:
    """A CSS counter spliced into a translated `content:` string, e.g. 'Page %(page)s of %(pages)s'."""
    if name not in ("page", "pages"):
        raise RenderError(f"unknown CSS counter '{name}'")
    return Markup(f'" counter({name}) "')


@functools.cache
def translations(templates: Path | None, lang: str) -> Translations:
    """The compiled catalog for a language, the user's copy first."""
    for root in ([templates] if templates else []) + [BUILTIN_TEMPLATES]:
        po = root / "locale" / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=LOCALES[lang])
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(buffer)
    raise RenderError(f"no translation catalog for '{lang}' under {templates or BUILTIN_TEMPLATES}")


class Numbers:
    """Locale-aware number formatting shared by every template (the filters)."""

    def __init__(self, lang: str) -> None:
        self.locale = Locale.parse(LOCALES[lang])

    def number(self, value: Any, digits: int = 2) -> str:
        if value is None:
            return "—"
        if isinstance(value, float) and not math.isfinite(value):  # a crashed run's loss: say what it is
            return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        tiny = value != 0 and abs(value) < 0.5 * 10 ** -digits  # would print as 0.0000
        if abs(value) >= SCIENTIFIC_FROM or (tiny and abs(value) < PLAIN_DOWN_TO):
            return self._power_of_ten(value)
        if tiny:  # 0.000322, not 0.0003 or 3.22E-4
            places = SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))
            return format_decimal(value, format="0." + "#" * places, locale=self.locale)
        if digits > 0 and abs(value) >= SCIENTIFIC_DECIMALS_FROM:  # 85.8M / 8581.1万 parameters
            return format_compact_decimal(value, format_type="short", locale=self.locale, fraction_digits=1)
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def _power_of_ten(self, value: float) -> str:
        """7.95×10⁻⁷: SIGNIFICANT digits and a written power, never the E notation of a calculator."""
        digits, power = f"{value:.{SIGNIFICANT - 1}e}".split("e")  # rounds 9.999 up to the next power, and reads
        # subnormal floats (5e-324), which value / 10 ** exponent divides by a 10 ** -324 that is 0.0
        shown = format_decimal(Decimal(digits), format="0." + "0" * (SIGNIFICANT - 1), locale=self.locale)
        return f"{shown}×10{str(int(power)).translate(SUPERSCRIPTS)}"

    def percent(self, value: Any, digits: int = 1) -> str:
        """A fraction as a percentage: 0.243 -> 24.3%; 0.9999 -> >99.9%, since it is not all of it."""
        if value is None:
            return "—"
        if isinstance(value, (int, float)) and 0 < value < 1 and round(value * 100, digits) >= 100:
            return ">" + self.number(100 - 10 ** -digits, digits) + "%"
        return self.number(value * 100, digits) + "%"

    def epoch(self, value: Any) -> str:
        if value is None:
            return "—"
        return self.number(value, 0 if float(value).is_integer() else 2)

    def signed(self, value: Any, digits: int = 2) -> str:
        if value is None:
            return "—"
        if round(value, digits) == 0:  # -0.00001 would read "-0.0000": no sign on a value that shows as zero
            return self.number(0.0, digits)
        return ("+" if value > 0 else "") + self.number(value, digits)

    def clock(self, value: str) -> str:
        """An ISO 8601 time (a finding's param) as weekday and time of day in UTC, the zone named:
        "Thu 14:00 UTC" / "周四 14:00 UTC"."""
        from babel.dates import format_datetime

        moment = datetime.fromisoformat(value).astimezone(timezone.utc)
        return format_datetime(moment, "EEE HH:mm", tzinfo=timezone.utc, locale=self.locale) + " UTC"

    def moment(self, value: str) -> str:
        """An ISO 8601 time in the past (a file's mtime, a last entry) as date and time in UTC, the zone named:
        "2026-12-04 18:32 UTC" in every language, so a reader can compare it with the file system."""
        return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") + " UTC"

    def scientific(self, value: Any) -> str:
        """Hyperparameter values as written, to HP_DIGITS significant digits: 0.0002 stays 0.0002, 2e-05 stays
        2e-05, and a schedule's 3.920000000000001e-06 reads 3.92e-06."""
        if isinstance(value, float) and math.isfinite(value):
            shown = f"{value:.{HP_DIGITS}g}"
            return shown if "." in shown or "e" in shown else shown + ".0"  # a float stays one: 0.0, not 0
        return str(value)


def _gettext_with(escape_value: Callable[[Any], str], catalog: Translations) -> tuple[Callable, Callable]:
    """gettext/ngettext that escape every parameter for the output format, then format."""

    def gettext(message: str, **params: Any) -> Markup:
        text = catalog.gettext(message)
        return Markup(text % {k: escape_value(v) for k, v in params.items()})

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> Markup:
        text = catalog.ngettext(singular, plural, n)
        values = {"num": n, **params}
        return Markup(text % {k: escape_value(v) for k, v in values.items()})

    return gettext, ngettext


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's per-user cache of compiled templates (a 0700 folder in the temp dir).

    Compiling the templates is a fifth of a report's own time; nightly runs and batches reuse the
    compiled code. A full or read-only disk only costs the speed-up, never the report.
    """

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _template_cache(output: str) -> BytecodeCache | None:
    """The compiled-template cache for one output format, or None where no safe folder exists.

    Jinja keys the cache by template file and source, not by environment options, so Markdown and
    HTML (which trim whitespace differently) keep separate files.
    """
    try:
        return _CompiledTemplates(pattern=f"__reporter_{output}_%s.cache")
    except (OSError, RuntimeError):
        return None


@functools.cache
def environment(lang: str, output: str, templates: Path | None = None) -> Environment:
    """The Jinja environment for one language and one output format, built once: 'md', 'html', or 'txt'
    (plain text such as an e-mail's text part, where nothing is markup and nothing needs escaping)."""
    loaders = ([FileSystemLoader(str(templates))] if templates else []) + [FileSystemLoader(str(BUILTIN_TEMPLATES))]
    escapes: dict[str, Callable[[Any], str]] = {"md": md_escape, "txt": str}
    escape_value = escapes.get(output, escape)
    env = Environment(
        loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=output != "txt",
        extensions=["jinja2.ext.i18n"], keep_trailing_newline=True, bytecode_cache=_template_cache(output),
        trim_blocks=output != "html", lstrip_blocks=output != "html",
        finalize=(lambda v: v if hasattr(v, "__html__") else md_escape(v)) if output == "md" else None,
    )
    gettext, ngettext = _gettext_with(escape_value, translations(templates, lang))
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
    numbers = Numbers(lang)
    env.filters.update(num=numbers.number, pct=numbers.percent, epoch=numbers.epoch, signed=numbers.signed,
                       hp=numbers.scientific, css_string=css_string, clock=numbers.clock,
                       moment=numbers.moment)
    env.globals.update(lang=lang, output=output, sep=SENTENCE_SEPARATORS[lang], colon=COLONS[lang],
                       list_sep=LIST_SEPARATORS[lang], css_counter=css_counter,
                       finding_codes=FINDINGS, recommendation_codes=RECOMMENDATIONS)
    return env


def render_template(env: Environment, name: str, **context: Any) -> str:
    """A rendered template, with template problems turned into one clear error.

    Raises:
        RenderError: the template is missing or fails to render.
    """
    try:
        with lab_template_errors(env):
            return env.get_template(name).render(**context)
    except TemplateNotFound as exc:
        raise RenderError(f"template '{exc.name}' not found in the templates folder") from None


@contextmanager
def lab_template_errors(env: Environment) -> Iterator[None]:
    """A lab's own template (from --templates) that fails becomes a RenderError with its file and line.

    A syntax error or an undefined variable there is the lab's to fix, not a bug in reporter; a
    failure inside the built-in templates alone still is one, and stays an internal error.

    Raises:
        RenderError: a lab's template took part in the failure.
    """
    try:
        yield
    except (ReporterError, TemplateNotFound):
        raise
    except Exception as exc:
        location = _lab_location(env, exc)
        if location is None:
            raise
        problem = exc.message if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
        raise RenderError(f"{location}: {problem}; fix this template, or remove it to use the built-in one") from None


def _lab_location(env: Environment, exc: Exception) -> str | None:
    """'file:line' of the innermost template in the failure, when a lab's template is among them."""
    folders = [Path(folder).resolve() for loader in getattr(env.loader, "loaders", [])
               for folder in getattr(loader, "searchpath", [])]
    frames = []
    trace = exc.__traceback__
    while trace is not None:  # jinja rewrites its frames to the template's file and line
        frames.append((Path(trace.tb_frame.f_code.co_filename).resolve(), trace.tb_lineno))
        trace = trace.tb_next
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        frames.append((Path(exc.filename).resolve(), exc.lineno))
    in_templates = [(file, line) for file, line in frames if any(file.is_relative_to(f) for f in folders)]
    if not any(not file.is_relative_to(BUILTIN_TEMPLATES) for file, _ in in_templates):
        return None
    file, line = in_templates[-1]
    return f"{file}:{line}"


def format_date(value: datetime, lang: str) -> str:
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format="long", locale=Locale.parse(LOCALES[lang]))
