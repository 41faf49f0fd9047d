"""Text as the report writers put it into .docx and .xlsx cells (报告文字)."""

from __future__ import annotations

import re

from ..core.numbers import parse_number

# the characters XML cannot hold, as the body of a regular expression's character class
XML_INVALID_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_XML_INVALID = re.compile(f"[{XML_INVALID_CHARACTERS}]")


def clean_text(value: str) -> str:
    """Drop characters XML cannot hold (控制字符) so any typed text fits in .docx and .xlsx."""
    return _XML_INVALID.sub("", value)


def number_or_text(value: str) -> float | str:
    """A formatted score/amount back as a number for a spreadsheet cell, or the text itself (``—``)."""
    parsed = parse_number(value)
    return parsed.value if parsed.value is not None else value
