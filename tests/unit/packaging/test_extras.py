import pytest

from onedrive.extras import MISSING, MissingExtraError, extra_module


def test_installed_package_is_the_module_itself():
    import json

    assert extra_module("json", "dev") is json


def test_missing_package_imports_and_names_its_extra_when_used():
    stand_in = extra_module("onedrive_no_such_package.sub", "nuscenes")
    assert stand_in in MISSING
    constructor = stand_in.Reader  # attribute access alone does not fail
    with pytest.raises(
        MissingExtraError,
        match=r"onedrive_no_such_package\.sub\.Reader needs the 'nuscenes' extra.*"
        r"pip install -e '\.\[nuscenes\]'",
    ):
        constructor("data")
    for use in (len, list, lambda module: "x" in module, lambda module: module[0]):
        with pytest.raises(MissingExtraError, match="'nuscenes' extra"):
            use(stand_in)


def test_installed_package_with_a_missing_dependency_is_not_hidden(tmp_path, monkeypatch):
    (tmp_path / "onedrive_broken_package.py").write_text("import onedrive_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="onedrive_absent_dependency"):
        extra_module("onedrive_broken_package", "dev")
