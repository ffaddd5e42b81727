"""Pictures of what a network learned, computed in the training worker after training and sent as small
8-bit arrays: misclassified test images, the first convolution's filters, feature maps of the convolution
layers for a few test images. `mosaic` lays pictures out in a grid (the editor shows it); `save_figures`
writes them, the confusion matrix and the curves as PNG files (``train --figures DIR``), with Pillow.
No Qt here; NumPy and Pillow are imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["collect_figures", "mosaic", "save_figures"]

#: Limits that keep a run's pictures to a few hundred kilobytes of JSON.
MAX_WRONG = 16
MAX_FILTERS = 32
MAX_MAP_LAYERS = 6
MAP_IMAGES = 4
MAP_CHANNELS = 8
MAP_SIZE = 24


def _to_uint8(array: Any) -> Any:
    import numpy as np

    a = np.asarray(array, dtype="float64")
    low, high = float(np.nanmin(a)), float(np.nanmax(a))
    scaled = (a - low) / (high - low) if high > low else np.zeros_like(a)
    return np.nan_to_num(scaled * 255).round().astype("uint8")


def _shrink(image: Any, size: int) -> Any:
    """Every n-th pixel, so that the picture is at most ``size`` pixels on a side."""
    step = max(1, -(-max(image.shape[0], image.shape[1]) // size))
    return image[::step, ::step]


def collect_figures(model: Any, x_test: Any, y_test: Any, predicted: Any) -> dict[str, Any]:
    """The pictures of a trained image classifier: misclassified test images (with true and predicted
    classes), the first convolution's filters, and feature maps of its convolutions for a few test images."""
    import numpy as np

    figures: dict[str, Any] = {}
    x = np.asarray(x_test)
    if x.ndim != 4:
        return figures
    truth = np.asarray(y_test).reshape(-1).astype(int)
    wrong = np.nonzero(np.asarray(predicted).reshape(-1) != truth)[0][:MAX_WRONG]
    figures["misclassified"] = [
        {"image": _to_uint8(_shrink(x[i], 48)).tolist(), "true": int(truth[i]), "predicted": int(predicted[i])} for i in wrong
    ]
    # The 2-D convolutions: the layers whose kernel is (height, width, in channels, filters).
    convs = [layer for layer in model.layers if len(getattr(getattr(layer, "kernel", None), "shape", ())) == 4]
    if convs:
        kernel = np.asarray(convs[0].kernel)  # (height, width, in channels, filters)
        figures["filters"] = {"layer": convs[0].name,
                              "images": [_to_uint8(kernel[:, :, :, f].mean(axis=2)).tolist() for f in range(min(kernel.shape[3], MAX_FILTERS))]}
        import keras

        maps = []
        samples = x[:MAP_IMAGES]
        for layer in convs[:MAX_MAP_LAYERS]:
            probe = keras.Model(model.inputs, layer.output)
            out = np.asarray(probe.predict(samples, verbose=0))
            maps.append({"layer": layer.name, "images": [[_to_uint8(_shrink(out[i, :, :, c], MAP_SIZE)).tolist()
                                                          for c in range(min(out.shape[3], MAP_CHANNELS))] for i in range(len(samples))]})
        figures["feature_maps"] = maps
        figures["samples"] = [_to_uint8(_shrink(s, 48)).tolist() for s in samples]
    return figures


def mosaic(images: list[Any], columns: int = 8, pad: int = 2, scale: int = 1) -> Any:
    """Pictures (2-D grey or 3-D colour, 8-bit) in a grid on a white background, each scaled by ``scale``."""
    import numpy as np

    arrays = []
    for image in images:
        a = np.asarray(image, dtype="uint8")
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=2)
        arrays.append(np.kron(a, np.ones((scale, scale, 1), dtype="uint8")) if scale > 1 else a)
    if not arrays:
        return np.full((1, 1, 3), 255, dtype="uint8")
    h = max(a.shape[0] for a in arrays)
    w = max(a.shape[1] for a in arrays)
    columns = max(1, min(columns, len(arrays)))
    rows = -(-len(arrays) // columns)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, dtype="uint8")
    for index, a in enumerate(arrays):
        r, c = divmod(index, columns)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top:top + a.shape[0], left:left + a.shape[1]] = a
    return grid


def save_figures(done: Any, folder: str | Path) -> list[Path]:
    """PNG files of a finished run: curves, confusion matrix (or predicted against true), and the pictures."""
    from PIL import Image, ImageDraw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(image: Any, name: str) -> None:
        path = folder / name
        image.save(path)
        written.append(path)

    history = done.history or []
    if history:
        metric = "mae" if history[0].get("mae") is not None else "accuracy"
        save(_curves_image(history, metric), "curves.png")
    if done.confusion_matrix:
        save(_matrix_image(done.confusion_matrix), "confusion_matrix.png")
    if done.predictions:
        save(_scatter_image(done.predictions), "predicted_vs_true.png")
    figures = done.figures or {}
    if figures.get("misclassified"):
        tiles = [item["image"] for item in figures["misclassified"]]
        scale = max(1, 64 // max(max(len(t), len(t[0])) for t in tiles))  # 8x8 digits are drawn 64 pixels wide
        grid = Image.fromarray(mosaic(tiles, columns=8, pad=14, scale=scale))
        draw = ImageDraw.Draw(grid)
        h = max(len(t) for t in tiles) * scale
        w = max(len(t[0]) for t in tiles) * scale
        for index, item in enumerate(figures["misclassified"]):
            r, c = divmod(index, 8)
            draw.text((14 + c * (w + 14), r * (h + 14) + 1), f"true {item['true']}, said {item['predicted']}", fill=(200, 30, 30))
        save(grid, "misclassified.png")
    if figures.get("filters"):
        save(Image.fromarray(mosaic(figures["filters"]["images"], columns=8, pad=2, scale=8)), "filters.png")
    for maps in figures.get("feature_maps", []):
        name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in maps["layer"])[:60]
        side = max(len(maps["images"][0][0]), 1)
        save(Image.fromarray(mosaic(maps["images"][0], columns=8, pad=2, scale=max(1, 96 // side))), f"feature_maps_{name}.png")
    return written


def _curves_image(history: list[dict[str, Any]], metric: str) -> Any:
    from PIL import Image, ImageDraw

    width, height, margin = 640, 300, 36
    image = Image.new("RGB", (width * 2, height), "white")
    draw = ImageDraw.Draw(image)
    for panel, (keys, title) in enumerate(((("loss", "val_loss"), "loss"), ((metric, f"val_{metric}"), metric))):
        left = panel * width
        series = [[row.get(k) for row in history] for k in keys]
        values = [v for s in series for v in s if v is not None]
        if not values:
            continue
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        draw.rectangle([left + margin, margin, left + width - margin, height - margin], outline=(180, 180, 180))
        draw.text((left + margin, 8), f"{title} (solid: training, light: validation)", fill=(30, 30, 30))
        draw.text((left + 4, margin), f"{high:.3g}", fill=(90, 90, 90))
        draw.text((left + 4, height - margin - 10), f"{low:.3g}", fill=(90, 90, 90))
        n = max(1, len(history) - 1)
        for s, colour in zip(series, ((31, 119, 180), (140, 190, 230))):
            points = [(left + margin + (width - 2 * margin) * i / n, height - margin - (height - 2 * margin) * (v - low) / span)
                      for i, v in enumerate(s) if v is not None]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
    return image


def _matrix_image(matrix: list[list[int]]) -> Any:
    from PIL import Image, ImageDraw

    n, cell, margin = len(matrix), 40, 30
    image = Image.new("RGB", (margin + n * cell + 4, margin + n * cell + 4), "white")
    draw = ImageDraw.Draw(image)
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        draw.text((8, margin + i * cell + cell // 2 - 5), str(i), fill=(60, 60, 60))
        draw.text((margin + i * cell + cell // 2 - 3, 8), str(i), fill=(60, 60, 60))
        for j, count in enumerate(row):
            share = count / total
            base = (44, 160, 44) if i == j else (214, 39, 40)
            colour = tuple(int(255 - (255 - b) * share) for b in base)
            x, y = margin + j * cell, margin + i * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=colour, outline=(230, 230, 230))
            if count:
                draw.text((x + 6, y + cell // 2 - 5), f"{100 * share:.0f}%", fill=(0, 0, 0))
    return image


def _scatter_image(pairs: list[list[float]]) -> Any:
    from PIL import Image, ImageDraw

    size, margin = 420, 36
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    values = [v for p in pairs for v in p]
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def at(v: float, vertical: bool) -> float:
        fraction = (v - low) / span
        return size - margin - (size - 2 * margin) * fraction if vertical else margin + (size - 2 * margin) * fraction

    draw.line([(at(low, False), at(low, True)), (at(high, False), at(high, True))], fill=(160, 160, 160))
    for truth, guess in pairs:
        x, y = at(truth, False), at(guess, True)
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(31, 119, 180))
    draw.text((margin, 8), "predicted (up) against true (right), test set", fill=(30, 30, 30))
    return image
