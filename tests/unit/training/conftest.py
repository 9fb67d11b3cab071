"""Real files for the training tests: a random info file with JPEG cameras, and a tiny InternVL3 (session-scoped)."""

import pytest
from tiny_run import tiny_experiment, write_random_drive_data

from onedrive.training.build import ensure_tiny_internvl


@pytest.fixture(scope="session")
def drive_data(tmp_path_factory):
    """Folder with ``infos/tiny_infos_train.json`` (8 samples), its images and ``tiny_internvl/``."""
    folder = tmp_path_factory.mktemp("drive_data")
    write_random_drive_data(folder, num_samples=8)
    ensure_tiny_internvl(tiny_experiment(folder, folder / "unused"))
    return folder
