"""tools/create_data.py navsim with a scene filter YAML holding a key NAVSIM's SceneFilter does not have."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("navtest.yaml", "unknown keys", "num_scenes")


def arguments(workspace) -> list[str]:
    scene_filter = workspace.write_text("navtest.yaml", "num_history_frames: 4\nnum_scenes: 10\n")
    return [
        "navsim",
        "--data-root",
        str(workspace.tmp),
        "--logs",
        "test",
        "--scene-filter",
        str(scene_filter),
        "--out",
        str(workspace.tmp / "out"),
    ]
