"""Chinese argument parsing (中文命令行帮助): argparse with every fixed phrase in Chinese.

argparse looks its phrases up through :func:`gettext.gettext` at the moment it formats help,
usage or an error; :class:`ChineseArgumentParser` swaps in :data:`PHRASES` for exactly those
moments, so ``usage:``, ``positional arguments``, ``options``, ``show this help message and exit``
and the error sentences reach the user in Chinese while other code in the process is untouched.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

PHRASES = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必填参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的值（应为 %(type)s）",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多一个值",
    "expected at least one argument": "至少一个值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确，可能是 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "参数 %s 必须填写其中一个",
    "ignored explicit argument %r": "忽略了多余的值 %r",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
}


#: Placeholders shown for an argument's value (参数值占位符), by the argument's ``dest``.
METAVARS = {
    "book": "工作簿",
    "base": "工作簿",
    "inbox": "收件箱",
    "output": "路径",
    "unit": "单位名称",
    "year": "年度",
    "example": "示例",
    "format": "格式",
    "templates": "目录",
    "report_dir": "目录",
    "jobs": "个数",
    "interpreter": "路径",
    "pythonpath": "路径",
    "host": "地址",
    "port": "端口",
    "cert": "文件",
    "key": "文件",
    "hostname": "主机名",
    "namespace": "前缀",
}


#: What a typed argument must be (参数类型), by the type function's name.
TYPE_NAMES = {"int": "整数", "float": "数字", "Path": "路径", "str": "文字"}


def translate(message: str) -> str:
    """The Chinese for an argparse phrase (中文短语), or the phrase itself."""
    return PHRASES.get(message, message)


def _ngettext(singular: str, plural: str, count: int) -> str:
    return translate(singular if count == 1 else plural)


@contextlib.contextmanager
def _chinese() -> Iterator[None]:
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = translate, _ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


class ChineseArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose help, usage and errors are Chinese (中文参数解析器)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _chinese():
            super().__init__(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any) -> Any:  # the sub-parsers are Chinese too
        kwargs.setdefault("parser_class", ChineseArgumentParser)
        kwargs.setdefault("title", "子命令")
        with _chinese():
            return super().add_subparsers(**kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("action") == "version":
            kwargs.setdefault("help", translate("show program's version number and exit"))
        takes_value = kwargs.get("action") in (None, "store") and "choices" not in kwargs
        if takes_value and "metavar" not in kwargs and args:
            long = [a for a in args if a.startswith("--")]
            dest = kwargs.get("dest") or (long[0][2:] if long else args[0].lstrip("-")).replace("-", "_")
            kwargs["metavar"] = METAVARS.get(dest, "值")
        return super().add_argument(*args, **kwargs)

    def format_help(self) -> str:
        with _chinese():
            return super().format_help()

    def format_usage(self) -> str:
        with _chinese():
            return super().format_usage()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with _chinese():
            return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        with _chinese():  # "unrecognized arguments" is looked up after parse_known_args returns
            return super().parse_args(args, namespace)

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            kind = TYPE_NAMES.get(getattr(action.type, "__name__", ""))
            if kind is None:  # a type function of ours raises its own Chinese message
                raise
            raise argparse.ArgumentError(action, f"「{arg_string}」不是有效的{kind}") from None

    def error(self, message: str) -> NoReturn:
        with _chinese():
            super().error(message)
