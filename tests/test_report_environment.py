"""The reports' Jinja environment reads ``x.key`` on a dict as Jinja does and prints values escaped as
Jinja does (报告模板环境)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup, escape

from xlperf.report.templates import ReportEnvironment, escape_text, rendered_text
from xlperf.report.text import clean_text


def _both(source: str, **context: object) -> tuple[str, str]:
    """``source`` rendered by the report environment and by a plain Jinja one."""
    ours = ReportEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return ours.from_string(source).render(context), plain.from_string(source).render(context)


def test_a_dict_item_reads_with_a_dot_and_with_brackets() -> None:
    ours, plain = _both(
        "{{ x.unit }}|{{ x['unit'] }}|{{ x.score.total }}", x={"unit": "<镇>", "score": {"total": 80}}
    )
    assert ours == plain == "&lt;镇&gt;|&lt;镇&gt;|80"


def test_a_name_a_dict_has_as_attribute_is_still_the_attribute() -> None:
    x = {"items": "条目", "keys": "键", "unit": "镇"}
    ours, plain = _both(
        "{{ x.items is callable }}|{{ x['items'] }}|{% for k in x.keys() %}{{ k }},{% endfor %}", x=x
    )
    assert ours == plain == "True|条目|items,keys,unit,"


def test_objects_and_dict_subclasses_read_as_before() -> None:
    class Row:
        code = "1.1"

    x = OrderedDict(code="2.1")
    ours, plain = _both("{{ r.code }}|{{ x.code }}|{{ x.move_to_end is callable }}", r=Row(), x=x)
    assert ours == plain == "1.1|2.1|True"


def test_a_missing_key_is_still_an_error() -> None:
    env = ReportEnvironment(undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError, match="unit"):
        env.from_string("{{ x.unit }}").render(x={"year": 2024})


HOSTILE = ["<镇>", "a & b", "]]>", "'单'\"双\"", "{{ 7*7 }}", "&amp;", "", "投入", "<w:t>x</w:t>"]


def test_printed_values_are_escaped_as_markupsafe_escapes_them() -> None:
    class Picture:
        def __html__(self) -> str:
            return "<w:drawing/>"

    values: list[object] = [*HOSTILE, 2.5, 80, None, True, Markup("<b>已转义</b>"), Picture()]
    for value in values:
        assert escape_text(value) == str(escape(value)), value
        assert type(escape_text(value)) in (str, Markup)


def test_templates_print_through_escape_text_in_text_macros_and_blocks() -> None:
    source = (
        "{% macro m(v) %}[{{ v }}]{% endmacro %}"
        "{% for v in values %}{{ v }}|{{ m(v) }}|{% set s %}<{{ v }}>{% endset %}{{ s }}|{{ v|safe }};{% endfor %}"
        "{% autoescape false %}{{ values[0] }}{% endautoescape %}"
    )
    ours, plain = _both(source, values=HOSTILE)
    assert ours == plain
    assert "&lt;镇&gt;|[&lt;镇&gt;]|<&lt;镇&gt;>|<镇>;" in ours and ours.endswith("<镇>")
    code = ReportEnvironment(autoescape=True).compile(source, raw=True)
    assert "escape_text(" in code


UNFIT = ["控制\x01字符\x0b", "孤\ud800<镇>", "\ufffe&\uffff", "第一行\n第二行\t", "😀 \ufffd"]
# what a template may do with a value, and whether its text may then hold a character XML cannot
# hold without escape_text seeing it (ReportEnvironment.prints_clean false)
SOURCES = [
    ("{{ v }}|{{ v|upper }}|{{ v ~ '!' }}|{{ [v, v]|join('、') }}|{{ v|safe }}|{{ '%c'|format(n) }}", True),
    ("{% macro m(x) %}[{{ x }}]{% endmacro %}{{ m(v) }}{% set s %}<{{ v }}>{% endset %}{{ s }}", True),
    ('{% include "part.j2" %}|{% for c in v %}{{ loop.index }}{{ c }}{% endfor %}', True),
    ("{% raw %}\x0b{% endraw %}{{ v }}", False),
    ('{{ "\\x01" }}{{ v }}', False),
    ("{% autoescape false %}{{ v }}{% endautoescape %}", False),
    ("{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{{ v }}{% endcall %}", False),
    ("{% filter replace('X', v) %}[X]{{ v }}{% endfilter %}", False),
    ("{% include name %}", False),
]


@pytest.mark.parametrize(("source", "clean"), SOURCES)
def test_rendered_text_is_the_whole_text_cleaned(source: str, clean: bool) -> None:
    """Whether or not the environment lets the rendered text through as it is, the report gets
    exactly what cleaning the whole rendered text gives (rendered_text)."""
    parts = {"part.j2": "<{{ v }}>"}
    ours = ReportEnvironment(autoescape=True, loader=jinja2.DictLoader(parts))
    plain = jinja2.Environment(autoescape=True, loader=jinja2.DictLoader(parts))
    for value in UNFIT:
        template = ours.from_string(source)
        text = rendered_text(template, template.render(v=value, n=1, name="part.j2"))
        assert text == clean_text(plain.from_string(source).render(v=value, n=1, name="part.j2")), value
    assert ours.prints_clean is clean


def test_unfit_characters_are_dropped_from_printed_values() -> None:
    assert escape_text("控制\x01<镇>\ud800") == "控制&lt;镇&gt;"
    assert escape_text(Markup("<b>\x0b已转义</b>")) == "<b>已转义</b>"
    assert escape_text(80) == "80"


def test_a_template_from_a_bytecode_cache_is_cleaned_whole(tmp_path: Path) -> None:
    """A template compiled in another process never told this environment what it prints."""
    cache = jinja2.FileSystemBytecodeCache(str(tmp_path))
    parts = {"t.j2": "<p>{{ v }}</p>"}
    ours = ReportEnvironment(autoescape=True, loader=jinja2.DictLoader(parts), bytecode_cache=cache)
    template = ours.get_template("t.j2")
    assert ours.prints_clean
    assert rendered_text(template, "<p>\x01</p>") == "<p></p>"
