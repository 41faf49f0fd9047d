"""The checks a bureau reviewer runs on every self-evaluation (审核校验), ``shared/domain.md`` §2.

Each check returns :class:`~.findings.Finding` objects with an id, a severity, a Chinese message,
the cells involved (:class:`~.model.Ref`) and the figures.  Rates are always recomputed from the
raw inputs; what the unit typed (its stated rates, total and grade) is only ever compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from .balances import check_balances, derived_figures
from .claims import check_stated_values, read_stated, show
from .fields import CHOICE, FIELDS, LONGTEXT, MONEY, SETTINGS_SECTION, TEXT
from .findings import ERROR, INFO, WARNING, Finding
from .grades import grade
from .metrics import METRIC_BY_KEY, METRIC_BY_LABEL, METRICS, Column, Group, Metric, column_values
from .model import CLASSES, GOALS, RUBRIC, TEAM, Ref
from .numbers import (
    EXCEL_ERRORS,
    count_figure,
    fmt_money,
    fmt_rate,
    fmt_score,
    money_figure,
    more_or_less,
    parse_number,
    parse_text,
    percent_points,
    percent_text,
    round_half_up,
)
from .rates import Rate, derived_adjustment
from .results import Evaluation, NodeScore
from .scoring import indicator_outcome

Check = Callable[[Evaluation], Iterator[Finding]]
NEGATIVE_ALLOWED = {"budget_adjustment", "carryover_begin", "carryover_end"}


def _num(ev: Evaluation, key: str) -> float | None:
    return parse_number(ev.data.get(key)).value


def _label(key: str) -> str:
    return next(f.label for f in FIELDS if f.key == key)


def check_inputs(ev: Evaluation) -> Iterator[Finding]:
    """Every numeric input is readable (输入可读) and amounts are not negative."""
    for f in FIELDS:
        raw = ev.data.get(f.key)
        if f.kind in (TEXT, LONGTEXT, CHOICE):
            if problem := _text_problem(raw, f.choices):
                yield Finding("input.invalid", ERROR, f"{f.label}{problem}", (Ref(f.key),))
            continue
        if f.section == SETTINGS_SECTION:
            continue
        parsed = parse_number(raw)
        if f.kind == MONEY and percent_text(raw):
            yield Finding(
                "input.invalid",
                ERROR,
                f"{f.label}：应以万元填写金额，实际为百分数「{parse_text(raw)}」",
                (Ref(f.key),),
            )
        elif parsed.problem:
            yield Finding("input.invalid", ERROR, f"{f.label}：{parsed.problem}", (Ref(f.key),))
        elif parsed.value is not None and parsed.value < 0 and f.key not in NEGATIVE_ALLOWED:
            yield Finding(
                "input.negative",
                WARNING,
                f"{f.label}为负数（{fmt_money(parsed.value) if f.kind == MONEY else fmt_score(parsed.value)}），请核对",
                (Ref(f.key),),
            )
    for key in ("unit_name", "year"):
        if not parse_text(ev.data.get(key)):
            yield Finding("input.required", WARNING, f"未填写{_label(key)}", (Ref(key),))
    for key, message in ev.settings.problems:
        yield Finding("input.setting", WARNING, f"{_label(key)}：{message}", (Ref(key),))
    tables: tuple[tuple[str, Sequence[object], tuple[tuple[str, str], ...]], ...] = (
        (CLASSES, ev.data.classes, (("预算数", "budget"), ("决算数", "final"))),
        (GOALS, ev.data.goals, (("指标值", "target"), ("完成值", "actual"))),
        (RUBRIC, ev.data.indicators, (("自评得分", "self_score"), ("单位自述值", "stated"))),
    )
    for table, rows, columns in tables:
        for index, row in enumerate(rows):
            for column, attr in columns:
                parsed = parse_number(getattr(row, attr))
                if parsed.problem:
                    yield Finding(
                        "input.invalid",
                        ERROR,
                        f"{table}第{index + 1}行「{column}」：{parsed.problem}",
                        (Ref(column, table, index),),
                    )
    text_columns: tuple[tuple[str, Sequence[object], tuple[tuple[str, str], ...]], ...] = (
        (CLASSES, ev.data.classes, (("功能分类代码", "code"), ("科目名称", "name"))),
        (
            GOALS,
            ev.data.goals,
            (
                ("编号", "goal_id"),
                ("绩效目标", "goal"),
                ("指标名称", "indicator"),
                ("偏差原因", "deviation_reason"),
            ),
        ),
        (RUBRIC, ev.data.indicators, (("指标名称", "name"), ("佐证材料", "evidence"))),
        (TEAM, ev.data.team, (("姓名", "name"), ("工作单位", "employer"), ("职务", "title"))),
    )
    for table, rows, columns in text_columns:
        for index, row in enumerate(rows):
            for column, attr in columns:
                if problem := _text_problem(getattr(row, attr)):
                    label = f"{table}第{index + 1}行「{column}」"
                    yield Finding("input.invalid", ERROR, label + problem, (Ref(column, table, index),))


def _text_problem(raw: object, choices: tuple[str, ...] = ()) -> str | None:
    """What is wrong where text is expected (文字与选项): an error cell, or a value outside a choice list,
    said after the cell's label; None when nothing is (the label and location are only built then)."""
    if raw is None or (not choices and not (isinstance(raw, str) and raw.lstrip().startswith("#"))):
        return None  # the common case: blank, or text that cannot be an error value
    expected = f"应为「{'」「'.join(choices)}」之一" if choices else "应填写文字"
    text = parse_text(raw)
    if isinstance(raw, str) and text.upper() in EXCEL_ERRORS:
        return f"：单元格为错误值 {text.upper()}，{expected}"
    if choices and text and text not in choices:
        return f"{expected}，实际为「{text}」"
    return None


def check_functional_classes(ev: Evaluation) -> Iterator[Finding]:
    """项目支出 = Σ 功能分类, aware of codes: a 项 listed beside its own 类 is double-counted (功能分类)."""
    rows = {
        i: (parse_text(r.code), parse_text(r.name), r)
        for i, r in enumerate(ev.data.classes)
        if parse_text(r.code) or parse_text(r.name)
    }
    if not rows:
        return
    parent_of: dict[int, int] = {}  # nearest listed ancestor by 功能分类代码 prefix
    for i, (code, _, _) in rows.items():
        ancestors = [
            j for j, (other, _, _) in rows.items() if other and code != other and code.startswith(other)
        ]
        if code and ancestors:
            parent_of[i] = max(ancestors, key=lambda j: len(rows[j][0]))
    for stage, word, attr in (("budget", "预算", "budget"), ("final", "决算", "final")):
        values = {i: parse_number(getattr(r, attr)).value for i, (_, _, r) in rows.items()}
        if all(v is None for v in values.values()):
            continue
        nested = {i for i, j in parent_of.items() if values.get(i) and values.get(j)}
        for i in sorted(nested):
            j = parent_of[i]
            (code, name, _), (parent_code, parent_name, _) = rows[i], rows[j]
            yield Finding(
                "sum.double_count",
                ERROR,
                f"{word}：{name}（{code}）属于{parent_name}（{parent_code}），二者同时列出，"
                f"{fmt_money(values[i])} 万元被重复计算",
                (Ref(attr_col(attr), CLASSES, i), Ref(attr_col(attr), CLASSES, j)),
                {"重复金额": money_figure(values[i])},
            )
        yield from _classes_total(ev, stage, word, attr, rows, values, nested)


def _classes_total(
    ev: Evaluation,
    stage: str,
    word: str,
    attr: str,
    rows: Mapping[int, tuple[str, str, object]],
    values: dict[int, float | None],
    nested: set[int],
) -> Iterator[Finding]:
    """Σ 功能分类 (without double counts) = 项目支出, or = 支出合计 when the table lists all spending."""
    project, spending = _num(ev, f"{stage}_exp_project"), _num(ev, f"{stage}_exp_total")
    if project is None:
        return
    tolerance = ev.settings.tolerance_money + 1e-9
    listed = round_half_up(sum(v or 0.0 for v in values.values()), 2)
    deduped = round_half_up(sum(v or 0.0 for i, v in values.items() if i not in nested), 2)
    diff = round_half_up(project - deduped, 2)
    refs = (Ref(f"{stage}_exp_project"), *(Ref(attr_col(attr), CLASSES, i) for i in rows))
    if abs(diff) <= tolerance:
        return
    if spending is not None and abs(round_half_up(spending - deduped, 2)) <= tolerance:
        yield Finding(
            "sum.classes_all_spending",
            INFO,
            f"{word}功能分类合计 {fmt_money(deduped)} 万元等于{word}支出合计（含基本支出），本表按全部支出填列，"
            f"已按支出合计核对相符",
            (Ref(f"{stage}_exp_total"), *refs[1:]),
        )
        return
    blank = [i for i, v in values.items() if v is None]
    if blank:
        names = "、".join(rows[i][1] or rows[i][0] for i in blank)
        yield Finding(
            "sum.unverifiable",
            INFO,
            f"无法核对{word}项目支出与功能分类：{names}未填写{attr_col(attr)}；已填各行合计 {fmt_money(deduped)} 万元，"
            f"比{word}项目支出 {fmt_money(project)} 万元{more_or_less(-diff)}",
            refs,
            {
                "项目支出": money_figure(project),
                "已填合计": money_figure(deduped),
                "差额": money_figure(diff),
            },
        )
        return
    extra = f"（逐行相加为 {fmt_money(listed)} 万元）" if nested else ""
    yield Finding(
        "sum.project_classes",
        ERROR,
        f"{word}项目支出 {fmt_money(project)} 万元，按功能分类（剔除重复的下级科目后）合计 {fmt_money(deduped)} 万元"
        f"{extra}，功能分类合计比项目支出{more_or_less(-diff)}",
        refs,
        {
            "项目支出": money_figure(project),
            "功能分类合计": money_figure(deduped),
            "差额": money_figure(diff),
        },
    )


def attr_col(attr: str) -> str:
    """Column caption of a 功能分类 attribute (列名)."""
    return {"budget": "预算数", "final": "决算数"}[attr]


def check_scores(ev: Evaluation) -> Iterator[Finding]:
    """Self-scores the data do not support, above the maximum, or with their inputs missing (自评得分核实).

    Indicators without a self-score are listed in one finding.
    """
    unscored = [s for s in ev.leaves if s.self_score is None]
    if len(unscored) == 1:
        s = unscored[0]
        yield Finding(
            "score.self_missing",
            WARNING,
            f"指标 {s.code} {s.name} 未填写自评得分",
            (Ref("自评得分", RUBRIC, s.row),),
        )
    elif unscored:
        yield Finding(
            "score.self_missing",
            WARNING,
            f"{len(unscored)} 个指标未填写自评得分：{'、'.join(f'{s.code} {s.name}' for s in unscored)}",
            tuple(Ref("自评得分", RUBRIC, s.row) for s in unscored),
            {"未填写": f"{len(unscored)} 个指标"},
        )
    for s in ev.leaves:
        ref = Ref("自评得分", RUBRIC, s.row)
        title = f"指标 {s.code} {s.name}"
        if s.self_score is None:
            continue
        if s.self_score > s.maximum + 1e-9:
            yield Finding(
                "score.over_max",
                ERROR,
                f"{title} 自评 {fmt_score(s.self_score)} 分，超过分值 {fmt_score(s.maximum)} 分",
                (ref,),
            )
        if s.status != "ok":
            yield from _missing_behind_score(ev, s, ref, title)
        elif s.self_score < s.score - 0.005:
            yield Finding(
                "score.below",
                INFO,
                f"{title} 自评 {fmt_score(s.self_score)} 分，低于按数据计算的 {fmt_score(s.score)} 分（{s.reason}），请核对",
                (ref,),
            )
        elif s.self_score > s.score + 0.005 and s.self_score <= s.maximum + 1e-9:
            yield Finding(
                "score.unsupported",
                ERROR,
                f"{title} 自评 {fmt_score(s.self_score)} 分，按数据计算只得 {fmt_score(s.score)} 分（{s.reason}）"
                f"{_stated_note(ev, s)}",
                (ref, Ref("计算得分", RUBRIC, s.row)),
                {"自评得分": count_figure(s.self_score, "分"), "计算得分": count_figure(s.score, "分")},
            )


def _stated_note(ev: Evaluation, s: NodeScore) -> str:
    metric = METRIC_BY_LABEL.get(s.source)
    stated = read_stated(ev.data.indicators[s.row].stated, metric).rate
    if stated is None or s.self_score is None:
        return ""
    row = ev.data.indicators[s.row]
    outcome = indicator_outcome(row.rule, row.params, s.maximum, stated, None, s.source, s.name)
    shown = show(stated, metric.percent, metric.unit) if metric else show(stated, True)
    if s.self_score > outcome.score + 0.005:
        return f"；即使按单位自述的 {shown}，依规则也只得 {fmt_score(outcome.score)} 分（{outcome.reason}）"
    if s.status != "ok":
        return f"；单位自述为 {shown}"
    return ""


def _needed(ev: Evaluation, key: str) -> bool:
    if key == "budget_adjustment_excluded":
        return False
    if key == "budget_adjusted_total":
        return parse_text(ev.data.get("budget_basis")) == "调整后预算"
    return key in NUMERIC_KEYS


def _input_refs(ev: Evaluation, metric: Metric, *, blank_only: bool) -> list[Ref]:
    """The input cells a metric needs (比率的输入单元格), or only those blank or unreadable."""

    def keep(raw: object) -> bool:
        return not blank_only or parse_number(raw).value is None

    refs: list[Ref] = []
    for arg in metric.args:
        if isinstance(arg, Column):
            refs += [
                Ref(arg.column, arg.table, i)
                for i, raw in enumerate(column_values(ev.data, arg))
                if keep(raw)
            ]
            continue
        keys = arg.keys if isinstance(arg, Group) else (arg,)
        refs += [Ref(k) for k in keys if _needed(ev, k) and keep(ev.data.get(k))]
    return refs


def _missing_behind_score(ev: Evaluation, s: NodeScore, ref: Ref, title: str) -> Iterator[Finding]:
    metric = METRIC_BY_LABEL.get(s.source)
    refs: list[Ref] = [ref]
    if metric is not None:
        refs += _input_refs(ev, metric, blank_only=True)
    else:
        refs.append(Ref("实际值", RUBRIC, s.row))
    severity = ERROR if (s.self_score or 0) > 0 else WARNING
    yield Finding(
        "input.missing",
        severity,
        f"{title} 自评 {fmt_score(s.self_score)} 分，但{s.reason.removesuffix('，本项不得分')}"
        f"{_derived_note(ev, metric)}，无法核实，计0分{_stated_note(ev, s)}",
        tuple(refs),
        {"自评得分": count_figure(s.self_score, "分")},
    )


def _derived_note(ev: Evaluation, metric: Metric | None) -> str:
    """Why a rate stays uncomputed although the balance checks derived its blank input (推算值不参与比率).

    Rates are computed from typed figures only, the same way by the sheet function, the headless
    run and the report; a figure derived by the identities is named with its value so the unit can type it.
    """
    if metric is None:
        return ""
    derived = derived_figures(ev)
    keys = [r.key for r in _input_refs(ev, metric, blank_only=True) if r.key in derived]
    if not keys:
        return ""
    shown = "、".join(f"{_label(k).removeprefix('其中：')} {fmt_money(derived[k])} 万元" for k in keys)
    return f"（按勾稽关系可推算出 {shown}，但比率只按填写的数字计算，请填写后核实）"


NUMERIC_KEYS = frozenset(f.key for f in FIELDS if f.kind not in (TEXT, LONGTEXT, CHOICE))


def check_parent_scores(ev: Evaluation) -> Iterator[Finding]:
    """A subtotal typed for a parent indicator equals the sum of its children's self-scores (小计核对)."""
    for s in ev.scores.values():
        if s.leaf:
            continue
        typed = parse_number(ev.data.indicators[s.row].self_score).value
        if typed is not None and s.self_score is not None and abs(typed - s.self_score) > 0.005:
            yield Finding(
                "score.rollup",
                ERROR,
                f"指标 {s.code} {s.name} 小计填写 {fmt_score(typed)} 分，下级自评得分之和为 {fmt_score(s.self_score)} 分",
                (Ref("自评得分", RUBRIC, s.row),),
            )


def check_claims(ev: Evaluation) -> Iterator[Finding]:
    """The unit's stated total, grade and rates agree with what its own data give (自述结论核对)."""
    claimed = parse_number(ev.data.get("claimed_total")).value
    computed_differs = claimed is not None and ev.total is not None and abs(claimed - ev.total) > 0.005
    if claimed is not None and ev.self_total is not None and abs(claimed - ev.self_total) > 0.005:
        also = f"；按数据和评分规则核定为 {fmt_score(ev.total)} 分（{ev.grade}）" if computed_differs else ""
        figures = {"所写总分": count_figure(claimed, "分"), "自评合计": count_figure(ev.self_total, "分")}
        yield Finding(  # one finding for the stated total, naming the computed total too
            "claim.total",
            ERROR,
            f"报告所写总分 {fmt_score(claimed)} 分，但各项自评得分相加为 {fmt_score(ev.self_total)} 分{also}",
            (Ref("claimed_total"),),
            figures | ({"核定总分": count_figure(ev.total, "分")} if computed_differs else {}),
        )
    elif computed_differs:
        assert claimed is not None
        yield Finding(
            "claim.total_computed",
            WARNING,
            f"报告所写总分 {fmt_score(claimed)} 分，按数据和评分规则核定为 {fmt_score(ev.total)} 分（{ev.grade}）",
            (Ref("claimed_total"),),
            {"所写总分": count_figure(claimed, "分"), "核定总分": count_figure(ev.total, "分")},
        )
    claimed_grade = parse_text(ev.data.get("claimed_grade"))
    if claimed_grade:
        basis = claimed if claimed is not None else ev.self_total
        expected = grade(basis, ev.settings.bands) if basis is not None else None
        if expected and not claimed_grade.startswith(expected):
            yield Finding(
                "claim.grade",
                ERROR,
                f"报告所写等级「{claimed_grade}」与总分 {fmt_score(basis)} 分对应的等级「{expected}」不符",
                (Ref("claimed_grade"),),
            )
    yield from check_stated_values(ev)


def check_goals(ev: Evaluation) -> Iterator[Finding]:
    """Every goal has an actual; shortfalls have a reason; far-exceeded targets are flagged (目标完成情况)."""
    for index, (goal, rate) in enumerate(zip(ev.data.goals, ev.goal_rates, strict=True)):
        name = parse_text(goal.indicator) or parse_text(goal.goal) or f"第{index + 1}行"
        label = f"绩效目标 {parse_text(goal.goal_id)} {name}".replace("  ", " ")
        if parse_number(goal.target).blank and parse_number(goal.actual).blank:
            continue
        if rate.value is None:
            yield Finding(
                "goal.incomplete",
                WARNING,
                f"{label}：{rate.reason}",
                (Ref(_goal_column(rate), GOALS, index),),
            )
            continue
        if rate.value < 1 and not parse_text(goal.deviation_reason):
            yield Finding(
                "goal.no_reason",
                WARNING,
                f"{label} 完成率 {fmt_rate(rate.value)}，未达到目标，但未填写偏差原因",
                (Ref("偏差原因", GOALS, index),),
            )
        if rate.value > ev.settings.goal_excess:
            yield Finding(
                "goal.excess",
                WARNING,
                f"{label} 完成率 {fmt_rate(rate.value)}，超过 {fmt_rate(ev.settings.goal_excess)}，目标值可能设定偏低",
                (Ref("指标值", GOALS, index),),
            )


def _goal_column(rate: Rate) -> str:
    """The goal-table column a completion rate's problem is about (问题所在列)."""
    if "方向" in rate.reason:
        return "方向"
    return "完成值" if "完成值" in rate.missing or "完成值" in rate.invalid else "指标值"


def _names(text: object) -> list[str]:
    raw = parse_text(text)
    for sep in ("，", ",", "；", ";", " ", "\n", "/"):
        raw = raw.replace(sep, "、")
    return [n.strip() for n in raw.split("、") if n.strip()]


def check_team(ev: Evaluation) -> Iterator[Finding]:
    """Names in the team paragraph match the signature table, and near-misses are spelled out (人员名单一致)."""
    named = (
        _names(ev.data.get("team_leader"))
        + _names(ev.data.get("team_deputies"))
        + _names(ev.data.get("team_members"))
    )
    signed = [(i, parse_text(t.name)) for i, t in enumerate(ev.data.team) if parse_text(t.name)]
    if not named or not signed:
        return
    signed_names = {n for _, n in signed}
    for name in named:
        if name in signed_names:
            continue
        twin = next((s for s in signed_names if s not in named and _one_apart(s, name)), None)
        if twin:
            i = next(i for i, n in signed if n == twin)
            yield Finding(
                "text.name_mismatch",
                WARNING,
                f"评价工作组成员「{name}」在签字名单中写作「{twin}」，同一人姓名写法不一致",
                (Ref("team_members"), Ref("姓名", "评价工作组", i)),
            )
        else:
            yield Finding(
                "text.name_missing",
                WARNING,
                f"评价工作组成员「{name}」不在签字名单中",
                (Ref("team_members"),),
            )
    for i, name in signed:
        if name not in named and not any(_one_apart(name, n) for n in named):
            yield Finding(
                "text.name_extra",
                WARNING,
                f"签字名单中的「{name}」不在评价工作组成员中",
                (Ref("姓名", "评价工作组", i),),
            )


def _one_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def check_departments(ev: Evaluation) -> Iterator[Finding]:
    """The stated number of 内设机构 equals the names listed (内设机构数)."""
    stated = parse_number(ev.data.get("departments_stated")).value
    listed = _names(ev.data.get("departments"))
    if stated is not None and listed and stated != len(listed):
        yield Finding(
            "text.departments",
            WARNING,
            f"写明下设 {fmt_score(stated)} 个内设机构，但列出的名称为 {len(listed)} 个（{'、'.join(listed)}）",
            (Ref("departments_stated"), Ref("departments")),
        )


def check_rubric(ev: Evaluation) -> Iterator[Finding]:
    """The rubric adds up and every rule is valid (评分体系), with the node named."""
    for problem in ev.rubric_problems:
        yield Finding("rubric.structure", ERROR, problem.message, (problem.ref,))


OVER_BUDGET = {  # rate key → (what is spent, the budget it exceeds) (超预算的警示比率)
    "public_control": ("公用经费", "final_exp_public", "budget_exp_public"),
    "project_exec": ("项目支出", "final_exp_project", "budget_exp_project"),
}
EXECUTION_SOURCES = ("预算执行率", "基本支出执行率", "项目支出执行率")


def _over(rate: Rate) -> bool:
    return rate.value is not None and percent_points(rate.value) > 100


def _warning_signs(ev: Evaluation) -> dict[str, Finding]:
    """Rates that are warning signs whatever the rubric scores (警示信号), keyed by rate."""
    signs: dict[str, Finding] = {}
    staff = ev.metrics["staff_control"]
    actual = _num(ev, "staff_actual")
    if _over(staff) and actual is not None and staff.value:
        quota = round_half_up(actual / staff.value, 2)
        signs["staff_control"] = Finding(
            "sign.overstaffed",
            WARNING,
            f"在职人员 {fmt_score(actual)} 人，超过编制数 {fmt_score(quota)} 人（在职人员控制率 "
            f"{fmt_rate(staff.value)}），超编 {fmt_score(actual - quota)} 人",
            tuple(_input_refs(ev, METRIC_BY_KEY["staff_control"], blank_only=False)),
            {
                "在职人数": count_figure(actual, "人"),
                "编制数": count_figure(quota, "人"),
                "超编": count_figure(actual - quota, "人"),
            },
        )
    derived = derived_figures(ev)
    for key, (what, spent_key, budget_key) in OVER_BUDGET.items():
        rate = ev.metrics[key]
        spent, budget = (_num(ev, k) if k not in derived else derived[k] for k in (spent_key, budget_key))
        over = (
            _over(rate)
            if rate.value is not None
            else spent is not None
            and budget is not None
            and (spent - budget > ev.settings.tolerance_money + 1e-9)
        )
        if over and spent is not None and budget is not None:
            excess = round_half_up(spent - budget, 2)
            guessed = [n for k, n in ((spent_key, "决算"), (budget_key, "预算")) if k in derived]
            why = (
                f"{rate.name} {fmt_rate(rate.value)}"
                if rate.value is not None
                else f"{'、'.join(guessed)}{what}为按勾稽关系推算的数，{rate.name}未计算"
            )
            signs[key] = Finding(
                "sign.over_budget",
                WARNING,
                f"{what}决算 {fmt_money(spent)} 万元，比预算 {fmt_money(budget)} 万元多 {fmt_money(excess)} 万元（{why}）",
                (Ref(spent_key), Ref(budget_key)),
                {"决算": money_figure(spent), "预算": money_figure(budget), "超出": money_figure(excess)},
            )
    return signs


def check_warning_signs(ev: Evaluation) -> Iterator[Finding]:
    """超编, 公用经费/项目支出超预算, and an execution rate scored full although spending exceeds the budget (警示信号)."""
    yield from _warning_signs(ev).values()
    for s in ev.leaves:
        metric = METRIC_BY_LABEL.get(s.source)
        if metric is None or s.source not in EXECUTION_SOURCES or not _over(ev.metrics[metric.key]):
            continue
        if s.self_score is not None and s.self_score >= s.maximum - 0.005:
            yield Finding(
                "sign.full_score_over_budget",
                WARNING,
                f"指标 {s.code} {s.name} 自评满分 {fmt_score(s.self_score)} 分，但{metric.label}为 "
                f"{fmt_rate(ev.metrics[metric.key].value)}，支出超出预算，满分依据不足",
                (Ref("自评得分", RUBRIC, s.row), *_input_refs(ev, metric, blank_only=False)),
            )


def check_derived_inputs(ev: Evaluation) -> Iterator[Finding]:
    """Inputs the rates derive rather than read (推算的输入): 预算调整数 and 编制数, each said once."""
    derived = derived_adjustment(
        ev.data.get("budget_adjustment"),
        ev.data.get("budget_adjusted_total"),
        ev.data.get("budget_exp_total"),
    )
    if derived.value is not None:
        yield Finding(
            "input.derived",
            INFO,
            f"预算调整数未填写，按 |调整后预算数 − 年初预算数| 推算为 {fmt_money(derived.value)} 万元，用于计算预算调整率"
            "（这是净调整额，追加与追减分别计算时实际调整数可能更大）",
            (Ref("budget_adjustment"), Ref("budget_adjusted_total"), Ref("budget_exp_total")),
            {"推算": money_figure(derived.value)},
        )
    split = [parse_number(ev.data.get(k)) for k in ("staff_quota_admin", "staff_quota_inst")]
    quota = _num(ev, "staff_quota_total")
    if quota is not None and any(p.blank for p in split) and ev.metrics["staff_control"].ok:
        yield Finding(
            "input.derived",
            INFO,
            f"行政编制数、事业编制数未分别填写，按编制数合计 {fmt_score(quota)} 人计算在职人员控制率",
            (Ref("staff_quota_total"), Ref("staff_quota_admin"), Ref("staff_quota_inst")),
            {"编制数": count_figure(quota, "人")},
        )


def check_unscored_metrics(ev: Evaluation) -> Iterator[Finding]:
    """Rates that can be computed but that no indicator scores, listed for completeness (未评分比率).

    A rate already reported as a warning sign is not listed again.
    """
    scored = {s.source for s in ev.leaves} | set(_warning_signs(ev))
    for metric in METRICS:
        rate = ev.metrics[metric.key]
        if metric.label in scored or metric.key in scored:
            continue
        if rate.value is not None:
            yield Finding(
                "info.metric",
                INFO,
                f"{metric.label} {show(rate.value, metric.percent, metric.unit)}（未纳入评分）",
                tuple(_input_refs(ev, metric, blank_only=False)),
            )
        elif note := _derived_note(ev, metric):
            yield Finding(
                "info.metric",
                INFO,
                f"{rate.reason}{note}（未纳入评分）",
                tuple(_input_refs(ev, metric, blank_only=True)),
            )


CHECKS: tuple[Check, ...] = (
    check_rubric,
    check_inputs,
    check_balances,
    check_functional_classes,
    check_scores,
    check_parent_scores,
    check_claims,
    check_goals,
    check_team,
    check_departments,
    check_derived_inputs,
    check_warning_signs,
    check_unscored_metrics,
)


def run_checks(ev: Evaluation) -> list[Finding]:
    """Run every check (全部校验) and collect the findings."""
    return [finding for check in CHECKS for finding in check(ev)]
