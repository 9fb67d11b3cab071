"""Task-config keys of the earlier planning design, which this release no longer has.

Earlier releases had two planning designs, chosen by ``plan_queries``: ``official`` (the one
this release keeps) and ``modes`` (one query per command and mode, each decoding a whole
trajectory, scored against ``plan_mode_target`` ``winner`` or ``soft`` at
``plan_mode_temperature``). Configs and checkpoints of those releases carry these keys. A
value this release's planning head also has (``official``, ``winner``; any temperature, which
only ``soft`` read) is accepted and dropped, so those checkpoints of the official design load;
any other value is refused: a checkpoint of the ``modes`` head holds parameters this release
cannot use.
"""

from __future__ import annotations

from collections.abc import Mapping

from onedrive.errors import InputError

RETIRED_PLAN_KEYS = ("plan_queries", "plan_mode_target", "plan_mode_temperature")
KEPT_VALUES = {"plan_queries": "official", "plan_mode_target": "winner"}  # what this release's head does


def check_retired_plan_keys(values: Mapping, where: str) -> None:
    """Raise ``InputError`` if ``values`` (task-config keys, as ``where`` names them) ask for the removed design."""
    for key, kept in KEPT_VALUES.items():
        if key in values and values[key] != kept:
            raise InputError(
                f"{where}: {key}={values[key]!r} asks for the earlier 'modes' planning design, which this release "
                f"removed: its one planning design is the official release's (1 ego token + commands x modes x "
                f"steps waypoint tokens on the mode anchors, focal mode score; {key}={kept!r} in earlier releases). "
                "Checkpoints of earlier releases with the 'modes' planning head (one query per command and mode) "
                f"cannot be loaded by this release; drop {key} from the config"
            )


def drop_retired_plan_keys(values: dict, where: str) -> None:
    """Check ``values`` (``check_retired_plan_keys``), then remove the retired keys from it, in place."""
    check_retired_plan_keys(values, where)
    for key in RETIRED_PLAN_KEYS:
        values.pop(key, None)
