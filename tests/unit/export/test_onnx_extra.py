"""--onnx without the onnx extra: a sentence naming the extra and the missing package, before anything is read."""

import sys

import pytest

from onedrive.errors import InputError
from onedrive.export import export_checkpoint


@pytest.mark.parametrize("package", ["onnx", "onnxscript"])
def test_onnx_without_its_extra(tmp_path, monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # what `import package` sees when it is not installed
    out = tmp_path / "exported"
    with pytest.raises(InputError, match=rf"pip install 'onedrive\[onnx\]'.*not installed: \['{package}'\]"):
        export_checkpoint(tmp_path / "no_checkpoint_needed", out, onnx=True)
    assert list(tmp_path.iterdir()) == []
