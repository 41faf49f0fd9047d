"""Findings of the checks (校验发现): what a bureau reviewer would flag, with the figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Ref

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
# The family of a check, by the first part of its id (检查类别), as a reviewer names it.
CHECK_FAMILIES = {
    "sum": "金额勾稽",
    "identity": "平衡关系",
    "info": "无法计算的指标",
    "sign": "警示信号",
    "claim": "自述与核定",
    "score": "指标得分",
    "goal": "绩效目标",
    "input": "填报数据",
    "text": "报告文字",
    "rubric": "评分规则",
    "workbook": "工作簿结构",
    "previous": "与上年核对",
}


def check_family(check: str) -> str:
    """The Chinese family of the check ``check`` (检查类别), e.g. ``sum.income`` → 金额勾稽."""
    return CHECK_FAMILIES.get(check.split(".", 1)[0], check)


@dataclass(frozen=True)
class Finding:
    """One finding (校验发现): ``check`` id, severity, Chinese message, cells involved and figures."""

    check: str
    severity: str
    message: str
    refs: tuple[Ref, ...] = ()
    figures: dict[str, str] = field(default_factory=dict)

    @property
    def severity_label(self) -> str:
        """错误 / 警告 / 提示."""
        return SEVERITY_LABELS[self.severity]


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each severity (按级别计数)."""
    counts = dict.fromkeys(SEVERITY_LABELS, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts
