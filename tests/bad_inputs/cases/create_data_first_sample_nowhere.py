"""tools/create_data.py nuscenes on a scene whose first_sample_token points at no sample."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("scene scene-0001", "first_sample_token", "sample-9", "sample.json")


def arguments(workspace) -> list[str]:
    return workspace.create_data_argv(first_sample="sample-9")
