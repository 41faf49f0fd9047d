"""Progress of a batch (进度显示): a bar on a terminal, one plain line per unit elsewhere (CI, logs)."""

from __future__ import annotations

import shutil
import time
import unicodedata
from typing import TextIO

from ..core.numbers import fmt_score
from .unit import UnitRecord


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, columns: int) -> str:
    while text and _width(text) > columns:
        text = text[:-1]
    return text


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} 分 {seconds:02d} 秒" if minutes else f"{seconds} 秒"


def describe(record: UnitRecord) -> str:
    """One line about a finished unit (单位结果说明), in Chinese."""
    if record.duplicate:
        return f"重复 {record.source}：{record.reason}"
    if not record.ok:
        return f"失败 {record.source}：{record.reason}"
    errors = record.counts.get("error", 0)
    score = f"{fmt_score(record.total)} 分，{record.grade}" if record.total is not None else record.grade
    return f"完成 {record.display_name}（{score}；错误 {errors} 条）"


class Progress:
    """Reports units as they finish (进度): ``bar=True`` redraws one line, otherwise prints a line each."""

    def __init__(self, stream: TextIO, *, bar: bool) -> None:
        self.stream = stream
        self.bar = bar
        self.total = self.done = self.failed = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def start(self, todo: int, skipped: int) -> None:
        """Announce the run: how many units to build, how many are up to date (开始)."""
        self.total, self.started = todo, time.monotonic()
        parts = [f"需处理 {todo} 个"]
        if skipped:
            parts.append(f"{skipped} 个自上次处理后未变化，已跳过")
        self._line("，".join(parts))
        if self.bar and todo:
            self._draw(force=True)

    def advance(self, record: UnitRecord) -> None:
        """One unit finished (完成一个)."""
        self.done += 1
        self.failed += record.failed
        if not self.bar:
            self._line(f"[{self.done:>{len(str(self.total))}}/{self.total}] {describe(record)}")
            return
        if record.failed:
            self._clear()
            self._line(describe(record))
        self._draw(force=self.done == self.total or record.failed)

    def finish(self) -> None:
        """End the display (结束)."""
        if self.bar and self.total:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _clear(self) -> None:
        self.stream.write("\r\x1b[K")

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        columns = shutil.get_terminal_size((80, 24)).columns
        share = self.done / self.total if self.total else 1.0
        filled = round(share * 24)
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = (
            f"，剩余约 {_duration((self.total - self.done) / rate)}"
            if rate and self.done < self.total
            else ""
        )
        failed = f"，失败 {self.failed}" if self.failed else ""
        text = (
            f"[{'█' * filled}{'░' * (24 - filled)}] {self.done}/{self.total}{failed}，{rate:.1f} 个/秒{left}"
        )
        self.stream.write("\r\x1b[K" + _fit(text, columns - 1))
        self.stream.flush()
