"""Findings of the checks (校验发现): what a bureau reviewer would flag, with the figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Ref

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


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
