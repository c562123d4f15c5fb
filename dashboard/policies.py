"""The workflow page's schedule-policy form (DESIGN.md contract 10), checked before anything is written:
the same ranges as the database's CHECKs, so a refusal names the field and its range. Pure."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping

OVERLAP = ("allow", "skip", "buffer_one")
RANGES = {"jitter_seconds": (0, 3600), "catchup_window_seconds": (1, 31536000)}


def parse(form: Mapping[str, str]) -> dict:
    """The columns to store; ValueError with a message naming the field and what it accepts."""
    overlap = form.get("overlap_policy", "allow").strip()
    if overlap not in OVERLAP:
        raise ValueError(f"overlap_policy '{overlap}' is not valid: use one of {', '.join(OVERLAP)}")
    values = {"overlap_policy": overlap}
    for name, (low, high) in RANGES.items():
        text = form.get(name, "").strip()
        if not text and name == "catchup_window_seconds":
            values[name] = None  # no window: missed occurrences coalesce into one run
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"{name} '{text}' is not valid: use a whole number of seconds from {low} to {high}"
                             + (", or leave it empty for none" if name == "catchup_window_seconds" else ""))
        values[name] = int(text)
    for name in ("starts_at", "ends_at"):
        values[name] = _moment(name, form.get(name, "").strip())
    if values["starts_at"] and values["ends_at"] and values["ends_at"] <= values["starts_at"]:
        raise ValueError("ends_at must be after starts_at: give a later ends_at, or leave one empty")
    return values


def _moment(name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} '{text}' is not a time: use ISO 8601, e.g. 2027-01-01T09:00:00Z, or leave it empty") from None
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    if not 1970 <= moment.astimezone(timezone.utc).year <= 9998:
        raise ValueError(f"{name} '{text}' is out of range: use a time from 1970 to 9998")
    return moment
