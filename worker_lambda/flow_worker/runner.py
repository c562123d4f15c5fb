"""The runner interface (one execution in, one outcome out) and the bundled local simulation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable
from uuid import UUID


@dataclass(frozen=True)
class Run:
    """A claimed execution, as a runner sees it."""

    execution_id: UUID
    workflow_id: UUID
    user_id: UUID
    trigger: str
    attempt: int
    definition: dict


@dataclass(frozen=True)
class Outcome:
    error: str | None = None  # None: the workflow completed

    @property
    def status(self) -> str:
        return "completed" if self.error is None else "failed"


Runner = Callable[[Run], Outcome]


def simulated(duration_ms: int) -> Runner:
    """Takes `duration_ms`, then fails if the definition says {"simulate": "fail"} (its "error" is the reason)."""

    def run(execution: Run) -> Outcome:
        time.sleep(duration_ms / 1000)
        if execution.definition.get("simulate") == "fail":
            return Outcome(
                str(execution.definition.get("error") or 'simulated failure: the definition says {"simulate": "fail"}')
            )
        return Outcome()

    return run
