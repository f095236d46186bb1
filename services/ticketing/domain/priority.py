"""Ticket priority: derived from urgency x impact, with an explicit `critical` override.

Priority matrix (rows: urgency, columns: impact):

    urgency \\ impact |  low     |  medium  |  high
    -----------------+----------+----------+--------
    high             |  medium  |  high    |  high
    medium           |  low     |  medium  |  high
    low              |  low     |  low     |  medium

`critical` is never derived: an agent or admin sets it explicitly. The override survives later
urgency or impact changes until it is cleared, and then the matrix applies again.
"""

from __future__ import annotations

LOW, MEDIUM, HIGH, CRITICAL = "low", "medium", "high", "critical"
LEVELS = (LOW, MEDIUM, HIGH)  # the scale of both urgency and impact
PRIORITIES = (LOW, MEDIUM, HIGH, CRITICAL)

MATRIX: dict[tuple[str, str], str] = {
    (HIGH, LOW): MEDIUM,
    (HIGH, MEDIUM): HIGH,
    (HIGH, HIGH): HIGH,
    (MEDIUM, LOW): LOW,
    (MEDIUM, MEDIUM): MEDIUM,
    (MEDIUM, HIGH): HIGH,
    (LOW, LOW): LOW,
    (LOW, MEDIUM): LOW,
    (LOW, HIGH): MEDIUM,
}


def priority_for(urgency: str, impact: str, critical: bool = False) -> str:
    """The effective priority; raises KeyError for a level outside LEVELS."""
    return CRITICAL if critical else MATRIX[(urgency, impact)]
