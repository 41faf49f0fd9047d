"""The command line (命令行): ``xlperf new | build | check``.

Every error a user can cause is printed as one Chinese sentence naming the file, sheet and
cell; no traceback reaches the terminal.  Exit codes: 0 clean, 1 findings at error level,
2 unreadable input or a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .cli_zh import ChineseArgumentParser
from .errors import XlperfError

if TYPE_CHECKING:
    from .workbook.upgrade import UpgradeResult

SEVERITY_ORDER = ("error", "warning", "info")
REPORT_LABELS = {
    "docx": "Word 报告",
    "html": "HTML 报告",
    "xlsx": "自评表",
    "review": "复核意见（Word）",
    "review-html": "复核意见（网页）",
}


PREVIOUS_HELP = "上年工作簿：与上年核对（默认使用工作簿中填写的上年自评工作簿）"
FORMAT_HELP = (
    "输出格式，逗号分隔：docx,html,xlsx 为单位自评报告（默认这三种），review 为复核意见（Word 和网页）"
)
FORCE_HELP = "输出位置已有不是本工作簿生成的文件（或生成后被修改过）时，先备份为 .bak 文件再覆盖（默认：不覆盖，退出码 2）"


def _print_summary(result: object, *, limit: int = 50) -> None:
    from .core.findings import SEVERITY_LABELS
    from .core.numbers import fmt_score
    from .workbook.build import BuildResult

    assert isinstance(result, BuildResult)
    ev = result.evaluation
    unit = ev.data.get("unit_name") or "（未填单位名称）"
    counts = {key: sum(1 for f in result.findings if f.severity == key) for key in SEVERITY_ORDER}
    print(f"单位：{unit}")
    print(
        f"核定总分：{fmt_score(ev.total)} 分，等级：{ev.grade}（自评合计 {fmt_score(ev.self_total)} 分，{ev.self_grade}）"
    )
    print("校验：" + "，".join(f"{SEVERITY_LABELS[k]} {counts[k]} 条" for k in SEVERITY_ORDER))
    shown = [f for f in result.findings if f.severity != "info"][:limit]
    for finding in shown:
        where = result.where(finding)
        print(f"  [{finding.severity_label}] {finding.message}" + (f"（{where}）" if where else ""))
    hidden = sum(1 for f in result.findings if f.severity != "info") - len(shown)
    if hidden > 0:
        print(f"  …… 另有 {hidden} 条，见输出工作簿的「校验结果」")
    for warning in result.warnings:
        print(f"注意：{warning}")
    if result.output:
        print(f"已写出：{result.output}")
    for kind, path in result.reports.items():
        print(f"已生成{REPORT_LABELS.get(kind, kind)}：{path}")
    if result.backup:
        print(f"原文件已备份为：{result.backup}")


def _backed_up(backups: list[Path]) -> None:
    for backup in backups:
        print(f"原有文件已备份为：{backup}")


def _report_notes(result: object) -> None:
    """Tell the clerk what the 自评报告 leaves out (报告提示): each blank text cell, and the 征求意见稿 mark."""
    from .core.fields import FIELD_BY_KEY
    from .report.report_context import BLANK_EFFECT, blank_narratives, draft_reasons
    from .workbook.build import BuildResult

    assert isinstance(result, BuildResult)
    if not {"docx", "html"} & set(result.reports):
        return
    for key in blank_narratives(result.evaluation):
        found = result.locator.names.get(key)
        where = (
            f"（{found[0]}!{found[1]}）" if found else "（工作簿中没有此项，运行 xlperf upgrade 后即可填写）"
        )
        result.warnings.append(f"报告文字「{FIELD_BY_KEY[key].label}」{where}未填写，{BLANK_EFFECT[key]}")
    reasons = draft_reasons(result.evaluation, result.findings)
    if reasons:
        result.warnings.append(
            f"{'、'.join(reasons)}，报告已标为“征求意见稿”；补全、更正后重新生成即为正式稿"
        )


def _cmd_new(args: argparse.Namespace) -> int:
    from .io.overwrite import guard_outputs
    from .rubrics import PACKAGED
    from .workbook.create import blank_data, create_workbook

    output = Path(args.output)
    backups = guard_outputs([output], None, force=args.force)
    if args.source:
        from .workbook.carryover import MacroBook, carry_over

        macro_book: MacroBook | None = None
        if output.suffix.lower() == ".xlsm":
            from .excel.addin import build_macro_workbook as macro_book

        lines = carry_over(Path(args.source), output, replace=bool(backups), macro_book=macro_book)
        print(f"已由上年工作簿 {args.source} 新建：{args.output}")
        print("\n".join(f"  {line}" for line in lines))
        _backed_up(backups)
        return 0
    if args.example:
        from .examples import example_data

        data = example_data(args.example)
    else:
        data = blank_data(args.unit, args.year, args.rubric)
    create_workbook(data, output)
    print(
        f"已新建工作簿：{output}（{'示例 ' + args.example if args.example else '评分体系：' + PACKAGED[args.rubric]}）"
    )
    _backed_up(backups)
    return 0


def _previous(args: argparse.Namespace) -> Path | None:
    return Path(args.previous) if args.previous else None


def _formats(text: str | None, *, batch: bool = False) -> list[str]:
    """The formats typed after --format; by default the unit's report, and for a batch the 复核意见 too."""
    from .report import DEFAULT_FORMATS, FORMATS

    default = FORMATS if batch else DEFAULT_FORMATS
    return [f.strip() for f in (text or ",".join(default)).split(",") if f.strip()]


def _cmd_build(args: argparse.Namespace) -> int:
    from .io.overwrite import publish, staging
    from .report import ReportError, render_reports
    from .workbook.build import build_workbook, evaluate_workbook, output_path

    book = Path(args.book)
    out_dir = Path(args.output) if args.output else None
    if args.strict:
        _, ev, findings, _ = evaluate_workbook(book, _previous(args))
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise ReportError(
                f"存在 {len(errors)} 条错误级校验结果，按 --strict 不生成输出；请先运行 xlperf check 查看并修正"
            )
    folder = output_path(book, out_dir, args.in_place).parent
    with staging(folder) as tmp:
        result = build_workbook(
            book, None if args.in_place else tmp, in_place=args.in_place, previous=_previous(args)
        )
        staged = [] if args.in_place or result.output is None else [result.output]
        formats = [] if args.no_report else _formats(args.format)
        written = (
            render_reports(
                result.evaluation,
                result.findings,
                tmp,
                formats=formats,
                templates=Path(args.templates) if args.templates else None,
                locate=result.locator.locate,
            )
            if formats
            else {}
        )
        backups = publish([*staged, *written.values()], folder, book, force=args.force)
    if staged:
        result.output = folder / staged[0].name
    result.reports = {kind: folder / path.name for kind, path in written.items()}
    _report_notes(result)
    _print_summary(result)
    _backed_up(backups)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .io.overwrite import publish, staging
    from .report import render_reports
    from .workbook.build import BuildResult, evaluate_workbook

    inputs, ev, findings, report = evaluate_workbook(Path(args.book), _previous(args))
    result = BuildResult(ev, findings, inputs.locator, None, report, warnings=list(report.warnings))
    out_dir = Path(args.output) if args.output else Path(args.book).parent / "xlperf-output"
    with staging(out_dir) as tmp:
        written = render_reports(
            ev,
            findings,
            tmp,
            formats=_formats(args.format),
            templates=Path(args.templates) if args.templates else None,
            locate=result.locator.locate,
            strict=args.strict,
        )
        backups = publish(written.values(), out_dir, Path(args.book), force=args.force)
    result.reports = {kind: out_dir / path.name for kind, path in written.items()}
    _report_notes(result)
    _print_summary(result)
    _backed_up(backups)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .core.numbers import parse_text
    from .workbook.build import BuildResult, evaluate_workbook

    inputs, ev, findings, report = evaluate_workbook(Path(args.book), _previous(args))
    result = BuildResult(ev, findings, inputs.locator, None, report, warnings=list(report.warnings))
    if args.json:
        payload = {
            "file": str(args.book),
            "unit": parse_text(ev.data.get("unit_name")),
            "total": ev.total,
            "grade": ev.grade,
            "self_total": ev.self_total,
            "counts": {k: sum(1 for f in findings if f.severity == k) for k in SEVERITY_ORDER},
            "findings": [
                {
                    "check": f.check,
                    "severity": f.severity,
                    "message": f.message,
                    "cells": [
                        {"sheet": loc[0], "cell": loc[1]}
                        for loc in (inputs.locator.locate(r) for r in f.refs)
                        if loc is not None
                    ],
                    "figures": f.figures,
                }
                for f in findings
            ],
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()
    else:
        _print_summary(result)
    return 1 if result.has_errors else 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    result = run_batch(
        Path(args.inbox),
        Path(args.output),
        jobs=args.jobs,
        force=args.force,
        progress=None,
        formats=tuple(_formats(args.format, batch=True)),
        templates=Path(args.templates) if args.templates else None,
    )
    print("\n".join(result.lines()))
    return result.exit_code


def format_upgrade(result: UpgradeResult) -> str:
    """The Chinese report of an upgrade or diagnosis (升级报告), one item a line."""
    from .workbook.contract import LAYOUT_VERSION

    lines = [f"工作簿：{result.source}（布局版本 {result.version}，当前版本 {LAYOUT_VERSION}）"]
    lines += [f"注意：{w}" for w in result.warnings]
    if not result.problems:
        lines.append("结构完好，布局为最新版本，无需升级；未写出任何文件。")
    else:
        lines.append(f"发现的问题（{len(result.problems)} 项）：")
        lines += [f"  - {p}" for p in result.problems]
    if result.output is not None:
        lines.append(f"已做的修改（{len(result.changes)} 项）：")
        lines += [f"  - {ch}" for ch in result.changes]
    if result.attention:
        lines.append(f"需要人工处理（{len(result.attention)} 项）：")
        lines += [f"  - {a}" for a in result.attention]
    if result.output is not None:
        lines.append(f"已写出：{result.output}")
    if result.backup is not None:
        lines.append(f"原文件已备份为：{result.backup}")
    return "\n".join(lines)


def _cmd_upgrade(args: argparse.Namespace) -> int:
    """``xlperf upgrade BOOK [-o OUT] [--in-place]``: print the report, return the exit code.

    Exit codes: 0 repaired, or nothing to repair; 1 written (or sound) but something needs a person
    (listed under 需要人工处理); errors (exit code 2: unreadable file, newer layout, unsafe repair,
    unwritable output) propagate to :func:`main`, which prints them.
    """
    from .io.overwrite import guard_outputs, record_outputs
    from .workbook.upgrade import default_output, upgrade_workbook

    book, output = Path(args.book), Path(args.output) if args.output else None
    target = None if args.in_place else output or default_output(book)
    backups = guard_outputs([target], book, force=args.force) if target is not None else []
    result = upgrade_workbook(book, output, in_place=args.in_place)
    print(format_upgrade(result))
    code = result.exit_code
    if target is not None and target.is_file():
        record_outputs([target], book)
    _backed_up(backups)
    return code


def _excel_addin(rest: list[str]) -> int:
    from .excel.addin import main as addin_main

    return addin_main(["build", *rest], build_prog="xlperf excel-addin")


def _serve(rest: list[str]) -> int:
    from .excel.server import main as serve_main

    return serve_main(rest)


PASS_THROUGH = {"excel-addin": _excel_addin, "serve": _serve}  # commands with their own argument parsers


def parser() -> argparse.ArgumentParser:
    """The argument parser (命令行参数)."""
    from .rubrics import PACKAGED

    p = ChineseArgumentParser(
        prog="xlperf",
        description="部门整体支出绩效自评：计算、校验、生成报告",
        epilog="各子命令的参数：xlperf 子命令 -h，例如 xlperf build -h",
    )
    p.add_argument("--version", action="version", version=f"xlperf {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="子命令")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        """A sub-command whose one-line description is both its list entry and its help (子命令)."""
        parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
        return parser

    new = command("new", "新建填报工作簿")
    new.add_argument("-o", "--output", required=True, help="新工作簿路径（.xlsx）；该文件已存在时不覆盖")
    new.add_argument("--force", action="store_true", help="新工作簿路径已有文件时，先备份为 .bak 文件再覆盖")
    new.add_argument("--unit", default="", help="单位名称")
    new.add_argument("--year", type=int, default=2024, help="评价年度")
    new.add_argument(
        "--rubric",
        default="reference",
        choices=tuple(PACKAGED),
        help="内置评分体系：" + "；".join(f"{key} = {title}" for key, title in PACKAGED.items()),
    )
    new.add_argument("--example", help="生成内置示例（gaoyi2024）")
    new.add_argument(
        "--from", dest="source", help="上年工作簿：沿用单位信息、工作组、评分体系和目标，填好上年数"
    )
    new.set_defaults(func=_cmd_new)

    build = command("build", "计算、校验并写出结果工作簿")
    build.add_argument("book", help="填报工作簿")
    build.add_argument("--previous", help=PREVIOUS_HELP)
    build.add_argument("-o", "--output", help="输出目录（默认：工作簿旁的 xlperf-output）")
    build.add_argument("--in-place", action="store_true", help="直接更新原工作簿（先备份）")
    build.add_argument("--format", help=FORMAT_HELP)
    build.add_argument("--no-report", action="store_true", help="只写回工作簿，不生成报告")
    build.add_argument(
        "--templates", help="自定义模板目录（其中的 report.docx / report.html.j2 覆盖内置模板）"
    )
    build.add_argument("--strict", action="store_true", help="存在错误级校验结果时不生成任何输出")
    build.add_argument("--force", action="store_true", help=FORCE_HELP)
    build.set_defaults(func=_cmd_build)

    report = command("report", "只生成报告（Word / HTML / 自评表）")
    report.add_argument("book", help="填报工作簿")
    report.add_argument("--previous", help=PREVIOUS_HELP)
    report.add_argument("-o", "--output", help="输出目录（默认：工作簿旁的 xlperf-output）")
    report.add_argument("--format", help=FORMAT_HELP)
    report.add_argument("--templates", help="自定义模板目录")
    report.add_argument("--strict", action="store_true", help="存在错误级校验结果时不生成报告")
    report.add_argument("--force", action="store_true", help=FORCE_HELP)
    report.set_defaults(func=_cmd_report)

    check = command("check", "只校验，不写文件；退出码 0 无错误、1 有错误、2 无法读取")
    check.add_argument("book", help="填报工作簿")
    check.add_argument("--previous", help=PREVIOUS_HELP)
    check.add_argument("--json", action="store_true", help="以 JSON 输出校验结果")
    check.set_defaults(func=_cmd_check)

    batch = command("batch", "批量处理收件箱中的全部工作簿（含 .zip），生成汇总表和汇总看板")
    batch.add_argument("inbox", help="收件箱文件夹（含子文件夹和 .zip）")
    batch.add_argument(
        "-o", "--output", required=True, help="输出文件夹（与收件箱保持一致：已移出收件箱的单位会被删除）"
    )
    batch.add_argument("--jobs", type=int, default=None, help="并行进程数（默认：CPU 核数）")
    batch.add_argument("--force", action="store_true", help="全部重新处理（默认跳过未变化的工作簿）")
    batch.add_argument("--format", help=FORMAT_HELP)
    batch.add_argument("--templates", help="自定义模板目录（用于每个单位的报告；模板改动后全部重新生成）")
    batch.set_defaults(func=_cmd_batch)

    upgrade = command("upgrade", "检查并修复工作簿结构，搬入全部填报内容（--in-place 先备份）")
    upgrade.add_argument("book", help="填报工作簿")
    upgrade.add_argument("-o", "--output", help="修复后的工作簿路径（.xlsx）")
    upgrade.add_argument("--in-place", action="store_true", help="直接修复原工作簿（先备份）")
    upgrade.add_argument("--force", action="store_true", help=FORCE_HELP)
    upgrade.set_defaults(func=_cmd_upgrade)

    command(
        "excel-addin", "生成桌面版 Excel 启用宏的工作簿（功能区「绩效自评」）；xlperf excel-addin -h 查看参数"
    )
    command("serve", "启动 Excel 加载项服务（Office.js，需安装 xlperf[server]）；xlperf serve -h 查看参数")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (命令行入口); returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in PASS_THROUGH:
            return PASS_THROUGH[arguments[0]](arguments[1:])
        args = parser().parse_args(arguments)
        return int(args.func(args))
    except XlperfError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断；已有的输出文件保持不变。", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (``xlperf check … | head``): end quietly, as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    except Exception as exc:  # never show a traceback to a finance officer
        if os.environ.get("XLPERF_DEBUG"):
            raise
        print(
            f"xlperf 内部错误（{type(exc).__name__}: {exc}）。输入文件未被修改；"
            "请将此信息和工作簿反馈给维护人员（设置 XLPERF_DEBUG=1 可显示详细信息）。",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
