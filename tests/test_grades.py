"""Grades from a total, with the bands as data (grades.py): 优 ≥ 90, 良 [80,90), 中 [60,80), 差 < 60."""

from __future__ import annotations

import math

import pytest

from xlperf.core.functions import FUNCTIONS
from xlperf.core.grades import DEFAULT_BANDS, grade, parse_bands


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, "优"),
        (95.75, "优"),  # the reference report's claimed total
        (94.75, "优"),  # its item scores' sum
        (90, "优"),  # 90 含
        (89.99, "良"),
        (80, "良"),  # 80 含
        (79.99, "中"),
        (60, "中"),  # 60 含
        (59.99, "差"),
        (0, "差"),
        (-5, "差"),  # below every band: the lowest
        (150, "优"),
        (89.995, "优"),  # shown as 90.00 after rounding half up: the grade follows what is shown
        (89.994, "良"),
        (None, "—"),
        (math.nan, "—"),
    ],
)
def test_default_bands(score: float | None, expected: str) -> None:
    assert grade(score) == expected
    assert grade(score, DEFAULT_BANDS) == expected


def test_custom_bands() -> None:
    bands = parse_bands("优秀:85，良好：70，合格:60，不合格:0")
    assert bands == ((85.0, "优秀"), (70.0, "良好"), (60.0, "合格"), (0.0, "不合格"))
    assert [grade(s, bands) for s in (85, 84.99, 70, 60, 59)] == ["优秀", "良好", "良好", "合格", "不合格"]
    # order in the text does not matter
    shuffled = parse_bands("差:0,优:90,中:60,良:80")
    assert [grade(s, shuffled) for s in (90, 80, 60, 0)] == ["优", "良", "中", "差"]
    assert parse_bands("优:90,良:80,中:60,差:0,") == DEFAULT_BANDS  # a trailing comma is fine


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("优:90", "等级分档必须包含下限为0的一档，如 差:0"),
        ("", "等级分档必须包含下限为0的一档，如 差:0"),
        (" , ", "等级分档必须包含下限为0的一档，如 差:0"),
        ("x", "等级分档「x」应写作 等级:下限分数，如 优:90"),
        ("优:abc,差:0", "等级分档「优:abc」应写作 等级:下限分数，如 优:90"),
        ("优:nan,差:0", "等级分档「优:nan」应写作 等级:下限分数，如 优:90"),
        ("优:inf,差:0", "等级分档「优:inf」应写作 等级:下限分数，如 优:90"),
        (":90,差:0", "等级分档「:90」应写作 等级:下限分数，如 优:90"),
    ],
)
def test_parse_bands_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_bands(text)
    assert str(exc.value) == message


def test_perf_grade_sheet_function() -> None:
    perf_grade = FUNCTIONS["PERF_GRADE"]
    assert perf_grade(95.75) == "优" and perf_grade("80") == "良" and perf_grade(None) == "—"
    assert perf_grade(86, "优秀:85,差:0") == "优秀"
    assert perf_grade(86, "优秀:85") == "等级分档必须包含下限为0的一档，如 差:0"  # the reason in the cell
