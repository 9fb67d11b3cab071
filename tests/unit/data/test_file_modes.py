"""Info files and metrics (``onedrive.io``'s atomic writes) get the modes of the umask, not tempfile's 0600."""

import os
import stat

import pytest

from onedrive.io import write_json_atomic, write_text_atomic


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_respect_the_umask(tmp_path, umask, mode):
    old_mask = os.umask(umask)
    try:
        info = write_json_atomic(tmp_path / "infos" / "nuscenes_infos_val.json", {"samples": []})
        metrics = write_text_atomic(tmp_path / "eval" / "metrics.json", "{}")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(info.stat().st_mode) == mode
    assert stat.S_IMODE(metrics.stat().st_mode) == mode
