"""Numbers in the text keep their information: a tiny loss is not printed as 0.0000 and a huge one is not a
wall of grouped digits (found on real runs: a Lightning val_loss near 1e-5, a broken one near 1.25e12)."""

from __future__ import annotations

import pytest

from reporter.report.render.environment import Numbers


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_tiny_value_keeps_its_digits(lang: str) -> None:
    assert Numbers(lang).number(1.234e-5, 4) == "1.23×10⁻⁵"
    assert Numbers(lang).number(0.0123, 4) == "0.0123"
    assert Numbers(lang).number(0.0, 4) == "0.0000"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_huge_value_with_decimals_is_scientific_but_counts_are_not(lang: str) -> None:
    assert Numbers(lang).number(1.25329e12, 4) == ("1.3T" if lang == "en" else "1.3万亿")
    assert Numbers(lang).number(1_000_000, 0) == "1,000,000"
    assert Numbers(lang).number(1234.5, 2) == "1,234.50"
