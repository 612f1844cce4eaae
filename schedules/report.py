"""The tick's report (SPEC §5 step 6): the body of the execute and cron endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schedules.models import ErrorCode


def iso_z(instant: datetime | None) -> str | None:
    return None if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Report:
    dry_run: bool
    evaluated_at: datetime
    triggered: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def skip(self, schedule_id, reason: str, detail: str = "") -> None:
        self.skipped.append(
            {"scheduleId": str(schedule_id), "reason": str(reason), "detail": detail}
        )

    def error(self, schedule_id, code: str, message: str) -> None:
        sid = None if schedule_id is None else str(schedule_id)
        self.errors.append({"scheduleId": sid, "code": str(code), "message": message})

    @property
    def executor_locked(self) -> bool:
        return any(e["code"] == ErrorCode.EXECUTOR_LOCKED for e in self.errors)

    def as_dict(self) -> dict:
        return {
            "dryRun": self.dry_run,
            "evaluatedAt": iso_z(self.evaluated_at),
            "triggeredSchedules": self.triggered,
            "skipped": self.skipped,
            "errors": self.errors,
        }
