"""Scoring rules as data (评分规则): each rubric leaf names a rule type and its parameters.

Parameters are written the way a finance office writes them in the workbook's rubric table,
``键=值; 键=值``, for example ``档次=0%:100%,10%:75%,20%:50%,30%:25%,其他:0%; 比较=不高于``.
Every rule returns a score in ``[0, 分值]`` and a Chinese reason for every point deducted.

Rule types (``RULES``):

* 比例计分 (proportional): 得分 = 分值 × min(实际值 / 满分值, 1) — 10号 预算执行率 × 分值, capped.
* 分档计分 (tiers): 得分 = 分值 × 所在档次的得分比例 — 岳阳 预算调整率, 重点支出安排率.
* 扣分 (deduct): 超过/低于/偏离阈值每 N 个百分点扣 M 分（或分值的 P%），最低0分 — 控制率、变动率.
* 清单 (checklist): 按满足项数得分或按不满足项数扣分 — 资金使用合规性、管理制度健全性.
* 季度进度 (quarterly): 每个达到序时进度的季度得 分值/季度数.
* 定性分档 (qualitative): 10号 达成 80–100%、部分达成 60–80%、未达成 0–60% of 分值; 自评得分限于所选档次.
* 目标完成 (goal): 10号 定量指标: 达到目标得满分，未达到按 完成值/指标值 计分; 多个目标取平均.
* 自评 (manual): 自评得分，不超过分值.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import RubricError
from .numbers import fmt_rate, fmt_score, parse_number, percent_points, round_half_up

MISSING, INVALID, OK = "missing", "invalid", "ok"


@dataclass(frozen=True, slots=True)
class Measure:
    """The actual value a leaf is scored on (实际值): a rate, a count or a typed figure."""

    name: str
    value: float | None
    percent: bool = True
    reason: str = ""
    invalid: bool = False

    def show(self) -> str:
        """The value as the user reads it (显示值)."""
        if self.value is None:
            return "—"
        return fmt_rate(self.value) if self.percent else fmt_score(self.value)


@dataclass(frozen=True, slots=True)
class LeafInput:
    """Everything one leaf may be scored on (评分依据)."""

    measure: Measure | None = None
    tier: str = ""
    self_score: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A leaf's computed score (计算得分) with the reason (扣分原因) and a status (ok/missing/invalid)."""

    score: float
    reason: str
    status: str = OK
    # where points are lost, the limit missed in plain words (未达标说明): "超过30.00%"; not part of the result
    short: str = field(default="", compare=False)


def split_params(text: str) -> dict[str, str]:
    """Split ``键=值; 键=值`` (full-width punctuation allowed) into a dict (参数解析)."""
    normalised = text.replace("；", ";").replace("＝", "=").replace("：", ":").replace("，", ",")
    params: dict[str, str] = {}
    for part in normalised.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise RubricError(f"参数「{part.strip()}」应写作 键=值")
        params[key.strip()] = value.strip()
    return params


def _number(key: str, text: str) -> float:
    parsed = parse_number(text)
    if parsed.value is None:
        raise RubricError(f"参数「{key}」应为数字或百分比，实际为「{text}」")
    return parsed.value


def _choice(params: dict[str, str], key: str, options: Sequence[str], default: str) -> str:
    value = params.get(key, default) or default
    if value not in options:
        raise RubricError(f"参数「{key}」应为 {'、'.join(options)} 之一，实际为「{value}」")
    return value


def _pairs(key: str, text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        if not item.strip():
            continue
        left, sep, right = item.partition(":")
        if not sep:
            raise RubricError(f"参数「{key}」的「{item.strip()}」应写作 界限:得分比例")
        pairs.append((left.strip(), right.strip()))
    if not pairs:
        raise RubricError(f"参数「{key}」不能为空")
    return pairs


def _check_keys(params: dict[str, str], allowed: Sequence[str], label: str) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        hint = "、".join(allowed) if allowed else "无参数"
        raise RubricError(f"规则「{label}」不认识参数「{'、'.join(unknown)}」（可用：{hint}）")


def _need_measure(leaf: LeafInput, label: str) -> Measure | Outcome:
    measure = leaf.measure
    if measure is None or measure.value is None:
        reason = measure.reason if measure is not None and measure.reason else f"缺少{label}的实际值"
        status = INVALID if measure is not None and measure.invalid else MISSING
        return Outcome(0.0, f"{reason}，本项不得分", status)
    return measure


def _cap(score: float, maximum: float) -> float:
    """The score to two decimals, but 分值 itself once it reaches 分值 at two decimals (得分上限).

    With 分值 2.675 a full score stays 2.675 (not 2.68, above the maximum); with 3.333 it is 3.333
    (not 3.33, which would read as a deduction of 0.003).
    """
    rounded = round_half_up(score, 2)
    return maximum if rounded >= round_half_up(maximum, 2) else rounded


def _finish(maximum: float, share: float, reason: str) -> Outcome:
    score = _cap(min(max(share, 0.0), 1.0) * maximum, maximum)
    return Outcome(score, reason)


class Rule:
    """A rule type (规则类型); subclasses parse their parameters and score a leaf."""

    kind = ""
    label = ""
    keys: tuple[str, ...] = ()

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        _check_keys(params, self.keys, self.label)
        self.maximum = float(maximum)

    def score(self, leaf: LeafInput) -> Outcome:  # pragma: no cover - abstract
        """Score one leaf (计分)."""
        raise NotImplementedError


class Proportional(Rule):
    """比例计分: 得分 = 分值 × min(实际值 / 满分值, 1) (越高越好) or × min(满分值 / 实际值, 1) (越低越好)."""

    kind, label = "proportional", "比例计分"
    keys: tuple[str, ...] = ("满分值", "方向")

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        super().__init__(params, maximum)
        self.full = _number("满分值", params.get("满分值", "100%"))
        if self.full <= 0:
            raise RubricError("参数「满分值」必须大于0")
        self.higher = _choice(params, "方向", ("越高越好", "越低越好"), "越高越好") == "越高越好"

    def score(self, leaf: LeafInput) -> Outcome:
        """Score proportionally, capped at the maximum."""
        measure = _need_measure(leaf, self.label)
        if isinstance(measure, Outcome):
            return measure
        value = measure.value or 0.0
        if self.higher:
            share = value / self.full
        else:
            share = 1.0 if value <= self.full else self.full / value
        result = _finish(self.maximum, share, "")
        if result.score >= self.maximum:
            return Outcome(result.score, f"{measure.name}{measure.show()}，得满分")
        full = Measure("", self.full, measure.percent).show()
        return Outcome(
            result.score,
            f"{measure.name}{measure.show()}，按比例得{fmt_score(result.score)}分，"
            f"扣{fmt_score(self.maximum - result.score)}分",
            short=f"未达到{full}" if self.higher else f"超过{full}",
        )


class Tiers(Rule):
    """分档计分: 实际值落在哪一档，得 分值 × 该档得分比例; ``比较=不高于`` (≤ 界限) or ``不低于`` (≥ 界限)."""

    kind, label = "tiers", "分档计分"
    keys: tuple[str, ...] = ("档次", "比较")

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        super().__init__(params, maximum)
        if "档次" not in params:
            raise RubricError("规则「分档计分」需要参数「档次」，如 档次=0%:100%,10%:75%,其他:0%")
        self.at_most = _choice(params, "比较", ("不高于", "不低于"), "不高于") == "不高于"
        self.bands: list[tuple[float, float]] = []
        self.other = 0.0
        for bound, share in _pairs("档次", params["档次"]):
            share_value = _number("档次", share)
            if not 0 <= share_value <= 1:
                raise RubricError(f"参数「档次」的得分比例应在0%到100%之间，实际为「{share}」")
            if bound in ("其他", "其它", "*"):
                self.other = share_value
            else:
                self.bands.append((_number("档次", bound), share_value))
        if not self.bands:
            raise RubricError("参数「档次」至少需要一个界限，如 档次=10%:75%,其他:0%")
        self.bands.sort(key=lambda band: band[0], reverse=not self.at_most)

    def score(self, leaf: LeafInput) -> Outcome:
        """Find the band and score its share."""
        measure = _need_measure(leaf, self.label)
        if isinstance(measure, Outcome):
            return measure
        value = measure.value or 0.0
        pp = percent_points(value)
        word = "不高于" if self.at_most else "不低于"
        over = "超过" if self.at_most else "低于"
        for index, (bound, share) in enumerate(self.bands):
            hit = pp <= percent_points(bound) if self.at_most else pp >= percent_points(bound)
            if hit:
                bound_text = Measure("", bound, measure.percent).show()
                # the band above this one is the limit missed
                missed = (
                    Measure("", self.bands[index - 1][0], measure.percent).show() if index else bound_text
                )
                return self._outcome(measure, share, f"{word}{bound_text}", f"{over}{missed}")
        last = Measure("", self.bands[-1][0], measure.percent).show() if self.bands else ""
        return self._outcome(measure, self.other, f"{over}{last}", f"{over}{last}")

    def _outcome(self, measure: Measure, share: float, where: str, short: str) -> Outcome:
        result = _finish(self.maximum, share, "")
        head = f"{measure.name}{measure.show()}，{where}"
        if result.score >= self.maximum:
            return Outcome(result.score, f"{head}，得满分")
        if result.score == 0:
            return Outcome(0.0, f"{head}，本项不得分", short=short)
        return Outcome(
            result.score,
            f"{head}，得分比例{fmt_rate(share)}，扣{fmt_score(self.maximum - result.score)}分",
            short=short,
        )


class Deduct(Rule):
    """扣分: 高于/低于/偏离 阈值，每 ``每`` 个百分点扣 ``扣`` 分（或分值的 ``扣比例``），最低0分."""

    kind, label = "deduct", "扣分"
    keys: tuple[str, ...] = ("阈值", "方向", "每", "扣", "扣比例", "取整")

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        super().__init__(params, maximum)
        if "阈值" not in params:
            raise RubricError("规则「扣分」需要参数「阈值」，如 阈值=100%")
        self.threshold = _number("阈值", params["阈值"])
        self.direction = _choice(params, "方向", ("高于", "低于", "偏离"), "高于")
        self.step = _number("每", params.get("每", "1%"))
        if self.step <= 0:
            raise RubricError("参数「每」必须大于0")
        if "扣" in params and "扣比例" in params:
            raise RubricError("参数「扣」与「扣比例」只能写一个")
        self.per_step = (
            _number("扣比例", params["扣比例"]) * maximum
            if "扣比例" in params
            else _number("扣", params.get("扣", "1"))
        )
        if self.per_step < 0:
            raise RubricError("每档扣分不能为负数")
        self.rounding = _choice(params, "取整", ("不取整", "向上"), "不取整")

    def score(self, leaf: LeafInput) -> Outcome:
        """Deduct per step beyond the threshold, floor 0."""
        measure = _need_measure(leaf, self.label)
        if isinstance(measure, Outcome):
            return measure
        value = measure.value or 0.0
        delta_pp = percent_points(value) - percent_points(self.threshold)
        excess = {"高于": delta_pp, "低于": -delta_pp, "偏离": abs(delta_pp)}[self.direction]
        limit = Measure("", self.threshold, measure.percent).show()
        if excess <= 0:
            side = {"高于": "未超过", "低于": "不低于", "偏离": "等于"}[self.direction]
            return Outcome(self.maximum, f"{measure.name}{measure.show()}，{side}{limit}，得满分")
        steps = excess / round_half_up(self.step * 100, 6)
        if not math.isfinite(steps):  # an absurd actual value: everything is lost unless nothing is per step
            lost = self.maximum if self.per_step > 0 else 0.0
        else:
            if self.rounding == "向上":
                steps = math.ceil(round_half_up(steps, 6))
            lost = min(self.maximum, round_half_up(steps * self.per_step, 2))
        word = {"高于": "超过", "低于": "低于", "偏离": "偏离"}[self.direction]
        short = f"超过{limit}" if delta_pp > 0 else f"未达到{limit}"
        # percent_points scales by 100; a count or score is compared in its own units
        shown = excess if measure.percent else excess / 100
        unit = "个百分点" if measure.percent else ""
        head = f"{measure.name}{measure.show()}，{word}{limit} {fmt_score(round_half_up(shown, 2))}{unit}"
        if lost >= self.maximum:
            return Outcome(0.0, f"{head}，扣完{fmt_score(self.maximum)}分，本项不得分", short=short)
        return Outcome(_cap(self.maximum - lost, self.maximum), f"{head}，扣{fmt_score(lost)}分", short=short)


class Checklist(Rule):
    """清单: 实际值为满足的项数; ``方式=得分`` 每满足一项得分, ``方式=扣分`` 每不满足一项扣分."""

    kind, label = "checklist", "清单"
    keys: tuple[str, ...] = ("项数", "方式", "每项")
    counted = "满足项数"

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        super().__init__(params, maximum)
        count = _number("项数", params.get("项数", ""))
        if count < 1 or not float(count).is_integer():
            raise RubricError("参数「项数」应为正整数")
        self.count = int(count)
        self.mode = _choice(params, "方式", ("得分", "扣分"), "扣分")
        self.per_item = _number("每项", params["每项"]) if "每项" in params else maximum / self.count
        if self.per_item < 0:
            raise RubricError("参数「每项」不能为负数")

    def score(self, leaf: LeafInput) -> Outcome:
        """Score the number of satisfied items."""
        measure = _need_measure(leaf, self.label)
        if isinstance(measure, Outcome):
            return measure
        met = measure.value or 0.0
        if met < 0 or met > self.count or not float(met).is_integer():
            return Outcome(
                0.0,
                f"{self.counted}应为0到{self.count}之间的整数，实际为{fmt_score(met)}，本项不得分",
                INVALID,
            )
        failed = self.count - int(met)
        points = met * self.per_item if self.mode == "得分" else self.maximum - failed * self.per_item
        result = _finish(self.maximum, points / self.maximum if self.maximum else 0.0, "")
        if failed == 0:
            head = "要求已满足" if self.count == 1 else f"{self.count}项要求均满足"
        else:
            head = f"{self.count}项要求中{failed}项未满足"
        if result.score >= self.maximum:  # 得分 mode with 项数 × 每项 above 分值 reaches the cap early
            return Outcome(result.score, f"{head}，得满分")
        # 得分 mode with 项数 × 每项 below 分值 stays short even when every item is met
        return Outcome(result.score, f"{head}，扣{fmt_score(self.maximum - result.score)}分")


class Quarterly(Checklist):
    """季度进度: 实际值为达到序时进度的季度数; 每个季度得 分值/季度数 (默认4个季度)."""

    kind, label = "quarterly", "季度进度"
    keys: tuple[str, ...] = ("季度数",)
    counted = "达到序时进度的季度数"

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        Rule.__init__(self, params, maximum)
        count = _number("季度数", params.get("季度数", "4"))
        if count < 1 or not float(count).is_integer():
            raise RubricError("参数「季度数」应为正整数")
        self.count, self.mode, self.per_item = int(count), "得分", maximum / count

    def score(self, leaf: LeafInput) -> Outcome:
        """One equal share per quarter on schedule."""
        outcome = super().score(leaf)
        if outcome.status != OK or outcome.score >= self.maximum:
            return (
                outcome
                if outcome.status != OK
                else Outcome(outcome.score, "各季度支出进度均达到序时进度，得满分")
            )
        missed = self.count - int(leaf.measure.value or 0) if leaf.measure else self.count
        return Outcome(
            outcome.score,
            f"{self.count}个季度中{missed}个季度支出进度未达到序时进度，"
            f"扣{fmt_score(self.maximum - outcome.score)}分",
        )


class Qualitative(Rule):
    """定性分档 (10号): 达成 [80%,100%]、部分达成 [60%,80%)、未达成 [0,60%) of 分值; 自评得分限于所选档次."""

    kind, label = "qualitative", "定性分档"
    keys: tuple[str, ...] = ("档次",)
    DEFAULT = "达成:80%-100%,部分达成:60%-80%,未达成:0%-60%"

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        super().__init__(params, maximum)
        self.tiers: dict[str, tuple[float, float]] = {}
        for name, span in _pairs("档次", params.get("档次", self.DEFAULT)):
            low, sep, high = span.partition("-")
            if not sep:
                raise RubricError(f"参数「档次」的「{name}」应写作 名称:下限-上限，如 达成:80%-100%")
            lo, hi = _number("档次", low), _number("档次", high)
            if not 0 <= lo <= hi <= 1:
                raise RubricError(f"参数「档次」的「{name}」区间应在0%到100%之间且下限不大于上限")
            self.tiers[name] = (lo, hi)

    def score(self, leaf: LeafInput) -> Outcome:
        """Bound the self-score by the chosen tier."""
        tier = leaf.tier.strip()
        if not tier:
            return Outcome(0.0, f"未选择定性档次（{'、'.join(self.tiers)}），本项不得分", MISSING)
        if tier not in self.tiers:
            return Outcome(
                0.0, f"定性档次「{tier}」无效，应为{'、'.join(self.tiers)}之一，本项不得分", INVALID
            )
        lo, hi = (_cap(v * self.maximum, self.maximum) for v in self.tiers[tier])
        band = f"「{tier}」档得分区间[{fmt_score(lo)}, {fmt_score(hi)}]"
        if leaf.self_score is None:
            return Outcome(lo, f"{band}，未填自评得分，按下限计{fmt_score(lo)}分")
        if leaf.self_score > hi:
            return Outcome(hi, f"{band}，自评{fmt_score(leaf.self_score)}分超出上限，按{fmt_score(hi)}分计")
        if leaf.self_score < lo:
            return Outcome(lo, f"{band}，自评{fmt_score(leaf.self_score)}分低于下限，按{fmt_score(lo)}分计")
        score = _cap(leaf.self_score, self.maximum)
        if score >= self.maximum:
            return Outcome(score, f"{band}，得满分")
        return Outcome(score, f"{band}，按自评计{fmt_score(score)}分，扣{fmt_score(self.maximum - score)}分")


class Goal(Proportional):
    """目标完成 (10号 定量指标): 实际值为关联目标的平均完成率（各目标不超过100%），得分 = 分值 × 平均完成率."""

    kind, label = "goal", "目标完成"
    keys: tuple[str, ...] = ("目标",)

    def __init__(self, params: dict[str, str], maximum: float) -> None:
        Rule.__init__(self, params, maximum)
        self.goal_ids = tuple(g.strip() for g in params.get("目标", "").split(",") if g.strip())
        if not self.goal_ids:
            raise RubricError("规则「目标完成」需要参数「目标」，写绩效目标表中的目标编号，如 目标=G1,G2")
        self.full, self.higher = 1.0, True


class Manual(Rule):
    """自评: 计算得分即自评得分，限于 [0, 分值]."""

    kind, label = "manual", "自评"
    keys: tuple[str, ...] = ()

    def score(self, leaf: LeafInput) -> Outcome:
        """Take the self-score, bounded."""
        if leaf.self_score is None:
            return Outcome(0.0, "未填自评得分，本项不得分", MISSING)
        if leaf.self_score > self.maximum:
            return Outcome(
                self.maximum, f"自评{fmt_score(leaf.self_score)}分超过分值，按{fmt_score(self.maximum)}分计"
            )
        if leaf.self_score < 0:
            return Outcome(0.0, "自评得分不能为负数，按0分计", INVALID)
        score = _cap(leaf.self_score, self.maximum)
        if score >= self.maximum:
            return Outcome(score, "自评得满分")
        return Outcome(score, f"自评扣{fmt_score(self.maximum - score)}分")


RULES: dict[str, type[Rule]] = {
    cls.label: cls for cls in (Proportional, Tiers, Deduct, Checklist, Quarterly, Qualitative, Goal, Manual)
}
RULE_KINDS: dict[str, str] = {cls.kind: label for label, cls in RULES.items()}


@lru_cache(maxsize=2048)
def make_rule(name: str, params_text: str, maximum: float) -> Rule:
    """Build a rule from its Chinese (or English) name and parameter text (规则实例); RubricError if bad.

    Instances are immutable after construction, so identical cell texts share one (cached).
    """
    key = name.strip()
    key = RULE_KINDS.get(key, key)
    cls = RULES.get(key)
    if cls is None:
        raise RubricError(f"未知的规则「{name}」，可用规则：{'、'.join(RULES)}")
    if not math.isfinite(maximum) or maximum < 0:
        raise RubricError("分值应为不小于0的数字")
    return cls(split_params(params_text or ""), maximum)
