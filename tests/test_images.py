"""Reading photos: every valid image becomes RGB, every broken one a one-line ImageError."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageError, WordcamError
from core.images import (
    expand_inputs,
    file_sha256,
    iter_image_files,
    labelled_images,
    load_image,
    to_rgb,
)


def _noise(w: int = 64, h: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def _assert_one_line_error(path, match: str, **kwargs) -> ImageError:
    with pytest.raises(ImageError, match=match) as info:
        load_image(path, **kwargs)
    err = info.value
    assert isinstance(err, WordcamError)
    assert "\n" not in str(err)
    assert str(err).startswith(str(path))
    return err


# --- valid images of every mode become RGB --------------------------------------------------


def test_exif_orientation_is_applied(tmp_path) -> None:
    # Stored 40x20: left half red, right half blue. Orientation 6 = display rotated 90 deg CW,
    # so the viewer sees a 20x40 portrait with red on top.
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)
    arr[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(arr).save(path, quality=95, exif=exif)

    image = load_image(path)
    assert image.mode == "RGB"
    assert image.size == (20, 40)
    pixels = np.asarray(image).astype(int)
    assert pixels[5, 10, 0] > 200 and pixels[5, 10, 2] < 60  # top: red
    assert pixels[35, 10, 2] > 200 and pixels[35, 10, 0] < 60  # bottom: blue


def test_rgb_image_round_trips(tmp_path) -> None:
    original = _noise()
    path = tmp_path / "noise.png"
    original.save(path)
    image = load_image(path)
    assert image.mode == "RGB" and np.array_equal(np.asarray(image), np.asarray(original))


def test_cmyk_jpeg_becomes_rgb(tmp_path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 24), (0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (32, 24)
    r, g, b = np.asarray(image)[12, 16].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_16_bit_greyscale_is_scaled_to_8_bit(tmp_path) -> None:
    arr = np.zeros((16, 32), np.uint16)
    arr[:, 16:] = 65535
    arr[:8, :16] = 32768
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    image = load_image(path)
    assert image.mode == "RGB"
    pixels = np.asarray(image)
    assert tuple(pixels[0, 31]) == (255, 255, 255)
    assert tuple(pixels[15, 0]) == (0, 0, 0)
    assert 126 <= pixels[0, 0, 0] <= 129  # 32768 / 65535 * 255


def test_palette_image_becomes_rgb(tmp_path) -> None:
    path = tmp_path / "palette.png"
    _noise().convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (64, 48)


def test_palette_transparency_composited_on_white(tmp_path) -> None:
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.paste(1, (0, 0, 5, 10))  # left half red, right half transparent black
    path = tmp_path / "transparent.png"
    pal.save(path, transparency=0)
    pixels = np.asarray(load_image(path))
    assert tuple(pixels[5, 2]) == (255, 0, 0)
    assert tuple(pixels[5, 8]) == (255, 255, 255)


def test_la_and_rgba_alpha_composited_on_white(tmp_path) -> None:
    la = Image.new("LA", (10, 10), (0, 255))
    la.paste((0, 0), (5, 0, 10, 10))  # right half fully transparent
    la_path = tmp_path / "la.png"
    la.save(la_path)
    pixels = np.asarray(load_image(la_path))
    assert tuple(pixels[5, 2]) == (0, 0, 0) and tuple(pixels[5, 8]) == (255, 255, 255)

    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    rgba.paste((0, 0, 255, 128), (5, 0, 10, 10))  # half transparent blue over white
    rgba_path = tmp_path / "rgba.png"
    rgba.save(rgba_path)
    pixels = np.asarray(load_image(rgba_path)).astype(int)
    assert tuple(pixels[5, 2]) == (0, 0, 255)
    r, g, b = pixels[5, 8]
    assert 120 <= r <= 135 and 120 <= g <= 135 and b == 255


@pytest.mark.parametrize("mode", ["L", "1", "I", "F", "RGBa", "PA", "YCbCr"])
def test_to_rgb_handles_every_mode(mode) -> None:
    image = to_rgb(_noise(16, 8).convert(mode))
    assert image.mode == "RGB" and image.size == (16, 8)


# --- broken files give one-line errors ------------------------------------------------------


def test_missing_file(tmp_path) -> None:
    _assert_one_line_error(tmp_path / "nope.jpg", "file not found")


def test_directory_is_not_an_image(tmp_path) -> None:
    _assert_one_line_error(tmp_path, "is a directory")


def test_zero_byte_file(tmp_path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _assert_one_line_error(path, r"empty file \(0 bytes\)")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file(tmp_path, suffix) -> None:
    full = tmp_path / f"full{suffix}"
    _noise(128, 96).save(full)
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    err = _assert_one_line_error(cut, "truncated|corrupt")
    assert err.path == str(cut)


def test_not_an_image(tmp_path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is a text file with a .jpg suffix\n", encoding="utf-8")
    _assert_one_line_error(path, "not an image file")


def test_decompression_bomb_with_tiny_limit(tmp_path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (200, 100)).save(path)
    _assert_one_line_error(path, r"too large \(200x100 pixels; limit 1,000\)", max_pixels=1_000)
    assert load_image(path, max_pixels=20_000).size == (200, 100)


def test_pillow_decompression_bomb_error_is_reported(tmp_path, monkeypatch) -> None:
    path = tmp_path / "bomb.png"
    Image.new("L", (100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # Pillow refuses above 2x this
    _assert_one_line_error(path, "decompression bomb")


def test_pillow_bomb_warning_zone_respects_our_limit(tmp_path, monkeypatch) -> None:
    # Between Pillow's warning threshold and our max_pixels the image is accepted.
    path = tmp_path / "large_but_allowed.png"
    Image.new("L", (50, 30)).save(path)  # 1500 px: above 1000 (warning), below 2000 (error)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    assert load_image(path, max_pixels=10_000).size == (50, 30)


def test_broken_exif_does_not_lose_the_photo(tmp_path) -> None:
    path = tmp_path / "bad_exif.jpg"
    exif = Image.Exif()
    exif[0x0112] = 99  # not a valid orientation
    _noise().save(path, exif=exif)
    assert load_image(path).size == (64, 48)


# --- file discovery -------------------------------------------------------------------------


def test_dataset_folder_helpers(tmp_path) -> None:
    for rel in ["cats/a.jpg", "cats/sub/b.PNG", "dogs/c.jpeg", "flat.png", ".hidden/d.jpg"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        _noise(8, 8).save(p, format="PNG")
    (tmp_path / "cats" / "readme.txt").write_text("not an image", encoding="utf-8")

    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files(tmp_path)]
    assert found == ["cats/a.jpg", "cats/sub/b.PNG", "dogs/c.jpeg", "flat.png"]
    labels = {p.name: label for p, label in labelled_images(tmp_path)}
    assert labels == {"a.jpg": "cats", "b.PNG": "cats", "c.jpeg": "dogs", "flat.png": None}
    mixed = expand_inputs([tmp_path / "dogs", tmp_path / "flat.png"])
    assert [p.name for p in mixed] == ["c.jpeg", "flat.png"]
    assert len(file_sha256(tmp_path / "flat.png")) == 64
