"""Check an environment holding ``pip install -e .`` alone (no extras); exit code 1 on any failure.

``make test-core-install`` (the last step of ``make test``) runs it in ``.venv-core``:

1. the extras' packages are absent here (else the check would prove nothing);
2. every module of ``onedrive``, found by walking the package with ``pkgutil``, imports;
3. each stand-in that ``onedrive.extras`` made for a missing package raises ``MissingExtraError``
   when used, naming an extra that setup.py declares, and so do two public entry points
   that need an extra (text metrics: ``dev``; the synthetic world's nuScenes scene names: ``nuscenes``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRA_PACKAGES = ("nuscenes", "onnxruntime", "pycocoevalcap", "matplotlib", "deepspeed")


def declared_extras() -> set[str]:
    """Keys of the ``EXTRAS`` dict literal in setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXTRAS" for t in node.targets):
            return {ast.literal_eval(key) for key in node.value.keys}
    raise SystemExit("setup.py has no EXTRAS = {...}")


def expect_missing_extra(what: str, call, extras: set[str], failures: list[str], extra: str | None = None) -> None:
    from onedrive.extras import MissingExtraError

    try:
        call()
    except MissingExtraError as error:
        named = [name for name in extras if f"'.[{name}]'" in str(error)]
        if not named or (extra is not None and named != [extra]):
            failures.append(
                f"{what}: the error names no extra of setup.py {sorted(extras)} (or not {extra!r}): {error}"
            )
    except Exception as error:  # any other error is the failure being reported
        failures.append(f"{what}: expected MissingExtraError, got {type(error).__name__}: {error}")
    else:
        failures.append(f"{what}: ran without its extra")


def main() -> int:
    present = [name for name in EXTRA_PACKAGES if importlib.util.find_spec(name) is not None]
    if present:
        print(f"not a core-only environment: {present} installed ({sys.prefix})", file=sys.stderr)
        return 1
    import onedrive
    from onedrive import extras

    failures: list[str] = []
    modules = ["onedrive"] + [m.name for m in pkgutil.walk_packages(onedrive.__path__, "onedrive.")]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # every import failure is reported
            failures.append(f"import {name} failed:\n{traceback.format_exc()}")
    declared = declared_extras()
    for stand_in in list(extras.MISSING):
        expect_missing_extra(repr(stand_in), stand_in, declared, failures)
    if not extras.MISSING:
        failures.append("no module stood in for a missing extra; the nuScenes modules should have")

    def text_metrics():
        return importlib.import_module("onedrive.evaluation").text_metrics(["a car"], [["a car"]])

    def synthetic_config():
        return importlib.import_module("onedrive.synthetic").SyntheticConfig()

    expect_missing_extra("text_metrics", text_metrics, declared, failures, "dev")
    expect_missing_extra("SyntheticConfig()", synthetic_config, declared, failures, "nuscenes")

    for failure in failures:
        print(failure, file=sys.stderr)
    print(
        f"core install ({sys.prefix}): {len(modules)} modules imported, {len(extras.MISSING)} stand-ins for "
        f"missing extras checked, {len(failures)} failure(s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
