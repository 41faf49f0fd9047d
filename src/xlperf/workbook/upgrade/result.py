"""What ``xlperf upgrade`` found and did (升级结果), and its refusal (无法安全修复)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import WorkbookStructureError

#: The sheet that keeps every cell of a contract sheet that has no place in the new layout.
OTHER_SHEET = "升级前其他内容"
#: At most this many such cells are kept there (可保留的其他内容上限): each takes a row of about ten XML
#: elements, and the sheet must stay within io.safety's worksheet limit, or xlperf could not read the
#: upgraded workbook.  More is refused before anything is written.
MAX_OTHER_CELLS = 20_000

# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class UpgradeResult:
    """What ``xlperf upgrade`` found and did (升级结果); every list holds Chinese sentences.

    ``problems`` is the damage found; ``changes`` what the new workbook does differently;
    ``attention`` what a person must do (inputs that could not be recovered, macros not carried …).
    ``output`` is ``None`` when nothing was written (nothing to repair, or only a diagnosis).
    """

    source: Path
    version: int
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    carried: int = 0
    output: Path | None = None
    backup: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 repaired (or nothing to repair), 1 something needs a person (需要人工处理)."""
        return 1 if self.attention else 0


class UpgradeRefused(WorkbookStructureError):
    """The repair is not safe; nothing was written (无法安全修复)."""
