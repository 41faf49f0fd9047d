"""Report templates (报告模板): the bundled ones and a user's folder, the Jinja environment, and
the Chinese error for a broken template.  Shared by the Word and HTML renderers and :mod:`.render`."""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

from ..errors import XlperfError
from .text import XML_INVALID_CHARACTERS, clean_text

TEMPLATE_FILES = {"docx": "report.docx", "html": "report.html.j2"}
REVIEW_FILES = {"docx": "review.docx", "html": "review.html.j2"}
# what a template folder may replace
USER_TEMPLATE_FILES = ("report.docx", "report.html.j2", "report.css", "review.docx", "review.html.j2")


class ReportError(XlperfError):
    """A report cannot be produced (报告无法生成): a broken user template, or errors under ``strict``."""


@functools.lru_cache(maxsize=1)  # where xlperf is installed does not change while it runs
def bundled_templates() -> Traversable:
    """The templates shipped with xlperf (内置模板): ``xlperf/templates`` installed, else ``templates/``."""
    try:
        installed = resources.files("xlperf") / "templates"
        if installed.is_dir() and installed.joinpath(TEMPLATE_FILES["html"]).is_file():
            return installed
    except (ModuleNotFoundError, OSError):  # pragma: no cover - xlperf itself is importable here
        pass
    source_tree = Path(__file__).resolve().parents[3] / "templates"
    if source_tree.joinpath(TEMPLATE_FILES["html"]).is_file():
        return source_tree
    raise ReportError("找不到内置报告模板（xlperf/templates），安装可能不完整，请重新安装 xlperf")


def template_file(name: str, user_dir: Path | None) -> tuple[Traversable, str]:
    """The template ``name`` from ``user_dir`` if it has one, else the bundled one; with a display name."""
    if user_dir is not None:
        candidate = Path(user_dir) / name
        if candidate.is_file():
            return candidate, str(candidate)
    return bundled_templates() / name, name


class _TraversableLoader(jinja2.BaseLoader):
    """Loads templates from the user directory first, then the bundled ones (one file at a time)."""

    def __init__(self, user_dir: Path | None) -> None:
        self.user_dir = user_dir

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, shown = template_file(template, self.user_dir)
        if not source.is_file():
            raise jinja2.TemplateNotFound(template)
        text = source.read_text(encoding="utf-8")
        user_dir = self.user_dir
        if not isinstance(source, Path) or user_dir is None or source.parent != user_dir:
            # bundled: unchanged while running, unless the user adds an overriding file
            return text, shown, lambda: user_dir is None or not (user_dir / template).is_file()
        stamp = source.stat().st_mtime_ns

        def uptodate() -> bool:
            try:
                return (
                    source.stat().st_mtime_ns == stamp and template_file(template, self.user_dir)[0] == source
                )
            except OSError:
                return False

        return text, shown, uptodate


_DICT_ATTRIBUTES = frozenset(dir(dict))


_SPECIAL = re.compile(f"[&<>'\"{XML_INVALID_CHARACTERS}]")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def escape_text(value: object) -> str:
    """What ``{{ value }}`` prints with autoescape (转义后的文字): the text of ``markupsafe.escape``,
    as a plain ``str``: a printed value is only joined into the output, so it need not be a
    ``Markup`` (whose making cost more than the escaping, a few thousand times per unit).

    Characters XML cannot hold are dropped from it (:func:`.text.clean_text`), so that the text a
    template renders holds none unless its own text does (:attr:`ReportEnvironment.prints_clean`).
    """
    if type(value) is str:
        text = value
    elif hasattr(value, "__html__"):
        return clean_text(value.__html__())  # escaped already: Markup, a macro's output
    else:
        text = str(value)
    return clean_text(text).translate(_ENTITIES) if _SPECIAL.search(text) else text


class _TextCodeGenerator(CodeGenerator):
    """Compiles a printed ``{{ … }}`` under autoescape to :func:`escape_text` instead of ``escape``.

    What the template could put into its text other than through :func:`escape_text` — its own text
    with a character XML cannot hold, a value printed without autoescape, the output of a
    ``{% call %}`` or ``{% filter %}`` block, a template included or extended by other than its
    name — makes its environment's :attr:`ReportEnvironment.prints_clean` false.
    """

    def _prints_unclean(self) -> None:
        if isinstance(self.environment, ReportEnvironment):
            self.environment.prints_clean = False

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self.writeline(f"from {__name__} import escape_text")
        super().visit_Template(node, frame)

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        text = super()._output_child_to_const(node, frame, finalize)
        if clean_text(text) != text:
            self._prints_unclean()
        return text

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            self._prints_unclean()
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("escape_text(")
        if finalize.src is not None:
            self.write(finalize.src)

    def visit_CallBlock(self, node: nodes.CallBlock, frame: Frame) -> None:
        self._prints_unclean()  # what the called macro returns is output as it is
        super().visit_CallBlock(node, frame)

    def visit_FilterBlock(self, node: nodes.FilterBlock, frame: Frame) -> None:
        self._prints_unclean()  # what the filter returns is output as it is
        super().visit_FilterBlock(node, frame)

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        if not isinstance(node.template, nodes.Const):  # perhaps a Template of another environment
            self._prints_unclean()
        super().visit_Include(node, frame)

    def visit_Extends(self, node: nodes.Extends, frame: Frame) -> None:
        if not isinstance(node.template, nodes.Const):
            self._prints_unclean()
        super().visit_Extends(node, frame)


class ReportEnvironment(jinja2.Environment):
    """The reports' Jinja environment (报告模板环境): ``x.key`` on a plain dict reads the item at once.

    Jinja tries ``getattr(x, "key")`` first and takes the item only after that fails, and the report
    contexts are dicts: the failed attribute lookup was the largest cost of a render.  A name a dict
    has as an attribute (``items``, ``keys`` …) and every other object still go through Jinja's own
    lookup, so a template reads exactly what it read before.  A printed value is escaped by
    :func:`escape_text`.
    """

    code_generator_class = _TextCodeGenerator
    prints_clean = True
    """Whether every template compiled here prints only text :func:`escape_text` cleaned, besides its
    own text free of characters XML cannot hold: then what it renders holds none either."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` as Jinja reads it (attribute first, then item)."""
        if obj.__class__ is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def rendered_text(template: jinja2.Template, rendered: str) -> str:
    """``rendered`` by ``template``, without the characters XML cannot hold (:func:`.text.clean_text`):
    as it is when the template's environment has compiled only templates that print none
    (:attr:`ReportEnvironment.prints_clean`, asked after the render, which may have compiled an
    included template)."""
    environment = template.environment
    # a template read from a bytecode cache was compiled elsewhere: what it prints is not known here
    if (
        isinstance(environment, ReportEnvironment)
        and environment.prints_clean
        and not environment.bytecode_cache
    ):
        return rendered
    return clean_text(rendered)


def jinja_environment(user_dir: Path | None = None) -> jinja2.Environment:
    """The HTML environment: autoescape on, undefined names are errors (StrictUndefined).

    One environment per template directory is kept, so compiled templates are reused; a user
    template edited on disk is recompiled on the next render.
    """
    key = str(Path(user_dir).resolve()) if user_dir is not None else ""
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = ReportEnvironment(
            loader=_TraversableLoader(Path(key) if key else None),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=True,
        )
        _ENVIRONMENTS[key] = env
    return env


def template_error(
    exc: Exception, shown: str, source_lines: Sequence[str] | None = None, part: str | None = None
) -> ReportError:
    """A Chinese :class:`ReportError` naming the template, the line and Jinja's own message.

    ``part`` names the part of a Word template that is not its body (``word/footer1.xml``).
    """
    line = getattr(exc, "lineno", None)
    name = getattr(exc, "filename", None) or getattr(exc, "name", None) or shown
    if line is None:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and (frame.filename == name or frame.filename.endswith(Path(shown).name)):
                line = frame.lineno
                break
            if frame.filename == "<template>":
                line = frame.lineno
                break
    detail = (getattr(exc, "message", None) or str(exc)).strip().rstrip("。.")
    if isinstance(exc, jinja2.UndefinedError):
        kind = "引用了不存在的数据项"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        kind = "语法错误"
    else:
        kind = "无法渲染"
    where = f"第 {line} 行" if line else ""
    snippet = ""
    if source_lines is not None and line and 0 < line <= len(source_lines):
        text = re.sub(r"<[^>]+>", "", source_lines[line - 1]).strip()
        where = f"第 {max(line - 1, 1)} 段"  # line 1 is the XML before the first paragraph
        snippet = f"（该处文字：「{text[:60]}」）" if text else ""
    message = (
        f"报告模板「{Path(shown).name}」{f'的「{part}」' if part else ''}{where}{kind}：{detail}{snippet}。"
        "请检查 {{ }} 与 {% %} 是否成对、名称是否拼写正确，或删除自定义模板以使用内置模板"
    )
    return ReportError(message, path=shown if Path(shown).is_absolute() else None)
