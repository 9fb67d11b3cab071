"""Package layering: the data pipeline and the evaluation do not import the model side.

Read from the source (every module of ``onedrive`` is loaded on ``import onedrive``, so
``sys.modules`` cannot show it): any import of the model's configuration, the modeling,
training, export or inference modules from ``onedrive/data`` or ``onedrive/evaluation``
fails, except under ``if TYPE_CHECKING:``. (Adapters that run a trained model, such as the
NAVSIM agent, live in ``onedrive/integrations``.)
"""

import ast
from pathlib import Path

from onedrive.schema import NAVSIM_CAMERAS, NUSCENES_CAMERAS
from onedrive.synthetic.cameras import NAVSIM_CAMERA_MOUNTS, NUSCENES_CAMERA_MOUNTS

PACKAGE = Path(__file__).resolve().parents[3] / "onedrive"
MODEL_SIDE = (
    "onedrive.model.configuration_onedrive",
    "onedrive.model",
    "onedrive.training",
    "onedrive.export",
    "onedrive.inference",
)


def imported_modules(tree: ast.AST) -> list[str]:
    """Modules imported anywhere in the tree, skipping ``if TYPE_CHECKING:`` bodies."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def model_side_imports(subpackage: str) -> list[tuple[str, str]]:
    bad = []
    for path in sorted((PACKAGE / subpackage).rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for module in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            if module.startswith(MODEL_SIDE):
                bad.append((relative, module))
    return bad


def test_import_scan_sees_lazy_imports_and_skips_type_checking():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import onedrive.model\n"
        "def f():\n    from onedrive.training.config import load_config\n"
    )
    assert imported_modules(tree) == ["typing", "onedrive.training.config"]


def test_data_does_not_import_the_model_side():
    assert model_side_imports("data") == []


def test_evaluation_does_not_import_the_model_side():
    assert model_side_imports("evaluation") == []


def test_synthetic_rigs_follow_the_schema_camera_order():
    assert tuple(mount.name for mount in NUSCENES_CAMERA_MOUNTS) == NUSCENES_CAMERAS
    assert tuple(mount.name for mount in NAVSIM_CAMERA_MOUNTS) == NAVSIM_CAMERAS
