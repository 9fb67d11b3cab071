"""The query types of the decoder, declared once: ``query_groups(task_config)``.

Every other place reads this declaration: ``TokenLayout`` inserts the groups' slots in this
order, the mixed decoder layers build one FFN per group (``query_ffns.<name>``) and route each
group's tokens through it, the query self-attention runs over the groups of the
``perception`` family, and ``OneDriveForDriving.parameter_groups`` files each group's
parameters under its family (the recipe's stage groups). Adding a query type means one more
``QueryGroup`` here, plus its embeddings, head and loss.
"""

from __future__ import annotations

from dataclasses import dataclass

PERCEPTION = "perception"  # joins the query self-attention; trained in the perception stage
PLANNING = "planning"  # trained in the planning stage
FAMILIES = (PERCEPTION, PLANNING)


@dataclass(frozen=True)
class QueryGroup:
    """One query type: its name (module and parameter names use it), its token count and its family."""

    name: str
    count: int
    family: str

    @property
    def perception(self) -> bool:
        """Joins the bidirectional query self-attention (with 3D reference-point embeddings)."""
        return self.family == PERCEPTION


def query_groups(task) -> tuple[QueryGroup, ...]:
    """The query groups of a ``OneDriveTaskConfig``, in sequence order ``[Q_det | Q_lane | Q_plan]``.

    The perception groups come first and next to each other: the query self-attention reads one span.
    With a temporal memory each perception group ends with its ``memory_propagated`` propagated queries.
    """
    return (
        QueryGroup("det", task.num_det_queries + task.memory_propagated, PERCEPTION),
        QueryGroup("lane", task.num_lane_queries + task.memory_propagated, PERCEPTION),
        QueryGroup("plan", task.num_plan_tokens, PLANNING),
    )
