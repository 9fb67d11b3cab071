"""An export killed with SIGKILL leaves a hidden staging folder; the next export to the same folder removes it.

Also: what an export writes gets the umask's modes (not tempfile's private 0600 / 0700), and a
staging folder is kept while its writer lives or when it holds the only copy of the previous output.
"""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onedrive.errors import run_tool
from onedrive.staging import StagingFolder, clean_leftovers

TOOL = Path(__file__).resolve().parents[3] / "tools" / "export.py"


def leftovers(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.staging-*"))


def load_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_tool", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def export(folder: Path, out: Path, umask: int = 0o002) -> int:
    """tools/export.py in this process under ``umask``."""
    old_mask = os.umask(umask)
    try:
        return run_tool(load_tool().main, [str(folder), "--out", str(out), "--dtype", "fp32"])
    finally:
        os.umask(old_mask)


@pytest.mark.slow
def test_killed_export_is_cleaned_by_the_next_one(final_run, tmp_path, capsys):
    """tools/export.py in a process killed with SIGKILL once its staging folder exists, then a second export."""
    folder, _ = final_run
    out = tmp_path / "exported"
    killed = subprocess.Popen(
        [sys.executable, str(TOOL), str(folder), "--out", str(out), "--dtype", "fp32"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    while not leftovers(out) and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=60) == -signal.SIGKILL, killed.stderr.read().decode()[-2000:]
    left = [path for path in leftovers(out) if path.is_dir()]
    assert left and not out.exists()

    assert export(folder, out) == 0
    assert f"removed {left[0]}" in capsys.readouterr().err
    assert leftovers(out) == [] and (out / "model.safetensors").is_file()


def test_dead_writers_staging_is_removed_and_the_export_is_shared(final_run, tmp_path, capsys):
    """A staging folder whose lock nobody holds (its writer died) goes; the new export gets the umask's modes."""
    folder, _ = final_run
    out = tmp_path / "exported"
    dead = StagingFolder(out)
    (dead.path / "model.safetensors").write_bytes(b"half")
    dead._lock.close()  # what the kernel does to the files of a killed process

    assert export(folder, out, umask=0o002) == 0
    assert f"removed {dead.path}" in capsys.readouterr().err
    assert leftovers(out) == []
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in [out, *out.iterdir()]}
    assert modes["exported"] == 0o775 and modes["model.safetensors"] == 0o664 and modes["config.json"] == 0o664


def test_staging_of_a_running_writer_is_kept(tmp_path, capsys):
    out = tmp_path / "exported"
    running = StagingFolder(out)  # its lock is held until publish / discard
    found = clean_leftovers(out)
    assert found.in_use == [running.path] and running.path.is_dir()
    assert "being written by another running process" in capsys.readouterr().err
    running.discard()
    assert leftovers(out) == []


def test_previous_output_kept_when_killed_between_the_renames(tmp_path, capsys):
    out = tmp_path / "exported"
    staging = StagingFolder(out)
    (staging.path / "new.txt").write_text("new")
    previous = staging.path.with_name(staging.path.name + ".old") / out.name
    previous.mkdir(parents=True)  # publish moved the old output here; the kill came before the new one took its place
    staging._lock.close()  # what the kernel does to a killed process's files
    found = clean_leftovers(out)
    assert found.previous == [previous] and previous.is_dir()
    assert f"move it back to {out}" in capsys.readouterr().err
