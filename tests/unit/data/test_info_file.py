"""One reader for info files: the dataset and the evaluation refuse the same bad files with the same message."""

import json

import pytest

from onedrive.data import DriveDataset
from onedrive.errors import InputError
from onedrive.evaluation import load_infos as evaluation_load_infos
from onedrive.infos import load_infos

INFOS = "demo_infos_val.json"


def write(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


BAD_FILES = [
    ('{"metadata": {}, "infos": [', "not valid JSON"),
    ([{"token": "a"}], r"expected \{'metadata'.*got list"),
    ({"metadata": {}, "records": []}, r"got keys \['metadata', 'records'\]"),
    ({"metadata": {}, "infos": []}, "holds no records"),
    ({"metadata": {}, "infos": [{"token": "a", "cams": {}}, {"cams": {}}]}, "record 1 has no 'token' string"),
    ({"metadata": {}, "infos": [{"token": "a", "cams": {}}, {"token": "a", "cams": {}}]}, r"duplicated tokens \['a'\]"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_every_reader_refuses_a_bad_info_file(tmp_path, info_dir, processor, content, message):
    path = write(tmp_path / "bad_infos.json", content)
    for read in (load_infos, evaluation_load_infos, lambda p: DriveDataset(p, info_dir, processor)):
        with pytest.raises(InputError, match=rf"info file {path}.*{message}"):
            read(path)


def test_good_file_and_the_dataset_own_check(tmp_path, info_dir, processor):
    metadata, records = load_infos(info_dir / INFOS)
    assert metadata["split"] == "val" and len(records) == len(DriveDataset(info_dir / INFOS, info_dir, processor).infos)
    path = write(tmp_path / "no_cams.json", {"metadata": {}, "infos": [{"token": "a"}]})
    assert load_infos(path) == ({}, [{"token": "a"}])
    with pytest.raises(InputError, match=r"record 0 \(a\) has no 'cams'"):
        DriveDataset(path, info_dir, processor)
