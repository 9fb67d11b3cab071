"""OneDrive: a unified driving vision-language-action model on InternVL3."""

from pathlib import Path

from setuptools import find_packages, setup

EXTRAS = {
    # The official devkit reads nuScenes tables and maps and runs DetectionEval;
    # it needs numpy < 2, and opencv-python < 5 keeps numpy there.
    "nuscenes": ["nuscenes-devkit>=1.1.11", "numpy<2", "opencv-python<5"],
    "deepspeed": ["deepspeed>=0.15", "accelerate>=1.0"],
    "flash": ["flash-attn>=2.6"],
    "onnx": ["onnx>=1.17", "onnxruntime>=1.20", "onnxscript>=0.3", "numpy<2"],
    "dev": [
        "pytest>=8",
        "ruff==0.17.6",  # pinned: `ruff format --check` in make test must format as the tree was formatted
        "tensorboard>=2.15",
        "accelerate>=1.0",
        "pycocoevalcap>=1.2",
        "matplotlib>=3.7",
        "similaritymeasures>=1.1",
    ],
}

setup(
    name="onedrive",
    version="0.1.0",
    description="OneDrive: one causal decoder for driving perception, planning and language (InternVL3-based)",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["onedrive", "onedrive.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.4",
        # Verified: 5.24.0 (CI). create_causal_mask takes the KV cache as `cache` from 5.24 on; 5.25 needs the
        # `kernels` package and loads with hub kernels on by default, which no test covers yet.
        "transformers>=5.24,<5.25",
        "peft>=0.13",
        "safetensors>=0.4",
        "numpy>=1.24",
        "scipy>=1.10",
        "pillow>=10",
        "tqdm>=4.60",
        # geometry of the metrics, the synthetic world and the NAVSIM reader
        "shapely>=2",
        "pyquaternion>=0.9",
        "pyyaml>=6",  # NAVSIM scene filters (the devkit's YAML)
    ],
    extras_require=EXTRAS,
)
