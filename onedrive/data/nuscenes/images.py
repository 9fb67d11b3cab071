"""Cheap checks of camera image files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError


def check_image(path: Path, width: int, height: int, decode: bool, sample_token: str) -> None:
    """Raise unless ``path`` exists and, with ``decode``, is a readable image of ``width × height``.

    ``decode`` runs PIL's ``Image.verify()`` (header and, for PNG, chunk checksums;
    no pixel decoding, so it stays cheap: a truncated JPEG body can pass) and compares
    the size with the ``sample_data`` record.
    """
    if not path.is_file():
        raise FileNotFoundError(f"camera image {path} of sample {sample_token} does not exist")
    if not decode:
        return
    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"camera image {path} of sample {sample_token} is corrupt: {error}") from error
    if size != (width, height):
        raise ValueError(
            f"camera image {path} of sample {sample_token} is {size[0]} × {size[1]} pixels but its sample_data "
            f"record says {width} × {height}"
        )
