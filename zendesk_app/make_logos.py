"""Draw the app's logos (a signpost on a rounded tile) with Pillow.

Run from the repository root:  .venv/bin/python zendesk_app/make_logos.py
Writes assets/logo.png (320x320) and assets/logo-small.png (128x128), the sizes
Zendesk requires. Drawing is deterministic, so re-running gives identical files.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parent / "assets"
KALE = (3, 54, 61, 255)  # Zendesk kale
WHITE = (255, 255, 255, 255)
GREEN = (38, 161, 120, 255)
SIZES = {"logo.png": 320, "logo-small.png": 128}
SCALE = 4  # draw large, then downsample for smooth edges


def draw_logo(size: int) -> Image.Image:
    """One logo of `size` x `size` pixels."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (round(x0 * big), round(y0 * big), round(x1 * big), round(y1 * big))

    draw.rounded_rectangle(box(0, 0, 1, 1), radius=round(0.18 * big), fill=KALE)
    # the post
    draw.rectangle(box(0.46, 0.20, 0.54, 0.86), fill=WHITE)
    draw.rectangle(box(0.34, 0.82, 0.66, 0.87), fill=WHITE)
    # upper sign pointing right
    draw.polygon(
        [
            (0.24 * big, 0.24 * big),
            (0.70 * big, 0.24 * big),
            (0.80 * big, 0.33 * big),
            (0.70 * big, 0.42 * big),
            (0.24 * big, 0.42 * big),
        ],
        fill=GREEN,
    )
    # lower sign pointing left
    draw.polygon(
        [
            (0.76 * big, 0.50 * big),
            (0.30 * big, 0.50 * big),
            (0.20 * big, 0.59 * big),
            (0.30 * big, 0.68 * big),
            (0.76 * big, 0.68 * big),
        ],
        fill=WHITE,
    )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write both logos into assets/."""
    ASSETS.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        draw_logo(size).save(ASSETS / name, format="PNG", optimize=True)
        print(f"{ASSETS / name} {size}x{size}")


if __name__ == "__main__":
    main()
