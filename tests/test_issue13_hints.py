"""Issue 13, point 2 (core and CLI): hints stay on the pixels they were painted on.

Hints are stored in original-photo coordinates and mapped through the geometric steps
(quarter turns, straightening, crops) with `core.preprocess.Geometry`; the sidecar (version 2)
keeps them with the recipe and still reads version-1 files. Point 10 (core): the eraser
removes only what it brushes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.cli import main
from colorstudio.core.color import rgb_to_lab
from colorstudio.core.errors import HintsError
from colorstudio.core.hints import (DEFAULT_SPREAD, SIDECAR_VERSION, HintPoint, HintSet, HintsFile,
                                    HintStroke, load_hints, load_sidecar, reach_scale,
                                    rgb_chroma, save_sidecar, sidecar_path)
from colorstudio.core.jobs import scaled_hints
from colorstudio.core.preprocess import Geometry, Step, apply_geometry, steps_to_json

H, W = 90, 140
RECIPES = {
    "rotate90 k=1": [Step.make("rotate90", k=1)],
    "rotate90 k=2": [Step.make("rotate90", k=2)],
    "rotate90 k=3": [Step.make("rotate90", k=3)],
    "rotate90 k=-1": [Step.make("rotate90", k=-1)],
    "straighten 7.5": [Step.make("rotate", angle=7.5)],
    "straighten -20": [Step.make("rotate", angle=-20)],
    "crop": [Step.make("crop", left=0.1, top=0.2, right=0.05, bottom=0.1)],
    "turn, straighten, crop, tone": [
        Step.make("rotate90", k=1), Step.make("rotate", angle=3),
        Step.make("crop", left=0.1, top=0.05, right=0.2, bottom=0.1),
        Step.make("clahe"), Step.make("tone", brightness=5)],
}


def _blob(x: float, y: float, h: int = H, w: int = W) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5  # pixel centres
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.0 ** 2)).astype(np.float32)


def _centroid(a: np.ndarray) -> tuple[float, float]:
    yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]] + 0.5
    return float((xx * a).sum() / a.sum()), float((yy * a).sum() / a.sum())


@pytest.mark.parametrize("name", list(RECIPES))
def test_geometry_moves_points_exactly_as_the_steps_move_pixels(name: str) -> None:
    steps = RECIPES[name]
    g = Geometry.of(H, W, steps)
    assert [s.op for s in g.steps] == [s.op for s in steps if s.op in ("rotate90", "rotate",
                                                                       "crop")]
    for x, y in [(70, 45), (50, 40), (82.3, 51.7)]:
        warped = apply_geometry(_blob(x, y), steps)
        assert warped.shape == g.view_shape
        vx, vy = g.to_view([[x, y]])[0]
        assert _centroid(warped) == pytest.approx((vx, vy), abs=0.02)
        assert tuple(g.to_original([[vx, vy]])[0]) == pytest.approx((x, y), abs=1e-9)


def test_geometry_without_geometric_steps_is_the_identity() -> None:
    g = Geometry.of(H, W, [Step.make("clahe"), Step.make("rotate", angle=0),
                           Step.make("rotate90", k=4)])
    assert g.is_identity and g.view_shape == (H, W)
    assert np.array_equal(g.to_view([[3, 4]]), [[3, 4]])


def test_hints_rendered_in_the_view_cover_the_same_pixels_as_the_warped_hints() -> None:
    """Rendering the mapped hints on the preprocessed photo gives (within a pixel's rounding)
    the mask of the original hints pushed through the same steps: same object, same size."""
    hints = HintSet(points=(HintPoint(30, 20, 4, (200, 40, 40)),),
                    strokes=(HintStroke(((60, 50), (100, 60), (110, 75)), 6, (40, 40, 200)),))
    steps = RECIPES["turn, straighten, crop, tone"]
    g = Geometry.of(H, W, steps)
    _, mask = hints.render(H, W)
    expected = apply_geometry(mask, steps) > 0.5
    _, got = hints.to_view(g).render(*g.view_shape)
    got = got > 0.5
    iou = (expected & got).sum() / (expected | got).sum()
    assert iou > 0.75, iou
    back = hints.to_view(g).to_original(g)
    assert back.points[0].x == pytest.approx(30) and back.points[0].radius == 4
    assert np.allclose(back.strokes[0].points, hints.strokes[0].points)
    assert back.strokes[0].width == 6 and back.strokes[0].rgb == (40, 40, 200)


# ----- the sidecar, version 2 -----

def test_sidecar_v2_keeps_hints_in_original_coordinates_with_the_recipe(tmp_path: Path) -> None:
    steps = tuple(RECIPES["turn, straighten, crop, tone"])
    hints = HintSet(points=(HintPoint(30.5, 20.25, 4, (200, 40, 40)),),
                    strokes=(HintStroke(((60, 50), (100, 60)), 6, (40, 40, 200)),))
    side = sidecar_path(tmp_path / "photo.tif")
    save_sidecar(side, hints, steps, (W, H))
    doc = json.loads(side.read_text())
    # Without a hint spread, version 3: the oldest that holds it, so older versions read it.
    assert doc["format"] == "colorstudio-hints" and doc["version"] == 3
    assert doc["coordinates"] == "original" and doc["image"] == {"width": W, "height": H}
    assert doc["preprocessing"] == steps_to_json(steps)
    assert doc["points"] == [{"x": 30.5, "y": 20.25, "radius": 4, "rgb": [200, 40, 40]}]
    back = load_sidecar(side)
    assert back == HintsFile(hints, steps, (W, H), 3)
    assert load_hints(side) == hints  # what the engine and the CLI read
    assert "painted with rotate90(k=1), rotate(angle=3), crop(" in back.describe()
    assert [p.name for p in tmp_path.iterdir()] == ["photo.hints.json"]


def test_todays_files_still_read_as_version_1(tmp_path: Path) -> None:
    side = tmp_path / "old.hints.json"
    side.write_text(json.dumps({"points": [{"x": 10, "y": 20, "radius": 2,
                                            "rgb": [200, 30, 40]}]}))
    f = load_sidecar(side)
    assert f.version == 1 and f.steps == () and f.image_size is None
    assert f.hints.points == (HintPoint(10, 20, 2, (200, 30, 40)),)
    assert f.for_image(500, 400) == (f.hints, None)  # no size recorded: taken as they are


def test_hints_painted_on_another_size_are_scaled_onto_the_photo() -> None:
    f = HintsFile(HintSet(points=(HintPoint(100, 50, 4, (1, 2, 3)),)), (), (200, 100))
    hints, note = f.for_image(50, 100)
    assert (hints.points[0].x, hints.points[0].y, hints.points[0].radius) == (50, 25, 2)
    assert "200 × 100" in note and "100 × 50" in note
    assert f.for_image(100, 200) == (f.hints, None)


def test_a_hint_spread_is_saved_as_version_4_and_kept_through_every_edit(tmp_path: Path) -> None:
    hints = HintSet(points=(HintPoint(30, 20, 4, (200, 40, 40)),),
                    strokes=(HintStroke(((60, 50), (100, 60)), 6, (40, 40, 200)),), spread=0.2)
    side = sidecar_path(tmp_path / "photo.tif")
    save_sidecar(side, hints, (), (W, H))
    doc = json.loads(side.read_text())
    assert doc["version"] == SIDECAR_VERSION == 4 and doc["spread"] == 0.2
    assert load_hints(side) == hints
    # Moving, erasing, scaling and clearing change the hints, not how far they reach.
    assert hints.mapped(lambda xy: xy * 2).spread == 0.2
    assert hints.erased(30, 20, 5).points == () and hints.erased(30, 20, 5).spread == 0.2
    assert scaled_hints(hints, 0.5).spread == 0.2
    assert HintsFile(hints, image_size=(W, H)).for_image(H * 2, W * 2)[0].spread == 0.2
    assert hints.with_point(HintPoint(1, 1, 1, (0, 0, 0))).spread == 0.2
    # The middle is the measured default; the ends fade the reach 1000x faster or slower.
    assert reach_scale(DEFAULT_SPREAD) == 1.0
    assert reach_scale(0.0) == pytest.approx(1000) and reach_scale(1.0) == pytest.approx(1e-3)
    assert reach_scale(0.25) > reach_scale(0.5) > reach_scale(0.75)


@pytest.mark.parametrize("doc,fragment", [
    ({"format": "colorstudio-hints", "version": 5, "points": []}, "newer ColorStudio"),
    ({"version": 3, "spread": 0.2}, "unknown entries spread"),
    ({"version": 4, "spread": 1.5}, "'spread' must be a number from 0 to 1"),
    ({"version": 4, "spread": True}, "'spread' must be a number from 0 to 1"),
    ({"version": "2", "points": []}, "'version' must be an integer"),
    ({"version": 0, "points": []}, "unknown hints format version"),
    ({"format": "something-else", "version": 2}, "not a ColorStudio hints file"),
    ({"version": 2, "coordinates": "view"}, "'coordinates' must be 'original'"),
    ({"version": 2, "image": {"width": 0, "height": 5}}, "'image' must be"),
    ({"version": 2, "image": [10, 10]}, "'image' must be"),
    ({"version": 2, "preprocessing": [{"op": "melt"}]}, "unknown preprocessing step"),
    ({"version": 2, "preprocessing": "rotate"}, "must be a list"),
    ({"version": 2, "extra": 1}, "unknown entries extra"),
    ({"version": 1, "preprocessing": []}, "unknown entries preprocessing"),
    ({"version": 2, "points": [{"x": 1, "y": 1, "rgb": [1, 2]}]}, "'rgb' must be"),
])
def test_bad_sidecars_give_a_clear_one_line_message(tmp_path: Path, doc: dict,
                                                    fragment: str) -> None:
    side = tmp_path / "bad.hints.json"
    side.write_text(json.dumps(doc))
    with pytest.raises(HintsError) as err:
        load_sidecar(side)
    msg = str(err.value)
    assert msg.startswith("bad.hints.json: ") and fragment in msg and "\n" not in msg


# ----- the command line reads them on the right pixels -----

def _scene(path: Path) -> Path:
    """Two objects on a mid-grey ground: a bright disc (left, top) and a dark square (right,
    bottom)."""
    yy, xx = np.mgrid[0:120, 0:200].astype(np.float32)
    g = np.full((120, 200), 0.5, np.float32)
    g[(xx - 50) ** 2 + (yy - 40) ** 2 < 18 ** 2] = 0.85
    g[70:100, 135:165] = 0.25
    Image.fromarray((g * 255).astype(np.uint8), "L").save(path)
    return path


def _hue_at(rgb8: np.ndarray, x: int, y: int, r: int = 2) -> tuple[float, float]:
    lab = rgb_to_lab(rgb8[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3) / 255.0)
    a, b = float(lab[:, 1].mean()), float(lab[:, 2].mean())
    return math.degrees(math.atan2(b, a)), math.hypot(a, b)


def _hue_of(rgb: tuple[int, int, int]) -> float:
    a, b = rgb_chroma(rgb)
    return math.degrees(math.atan2(b, a))


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_cli_colours_the_objects_a_v2_sidecar_names(tiny_models: Path, tmp_path: Path,
                                                    capsys) -> None:
    photo = _scene(tmp_path / "photo.png")
    steps = RECIPES["turn, straighten, crop, tone"]
    green, blue = (40, 170, 50), (40, 70, 220)
    hints = HintSet(points=(HintPoint(150, 85, 5, blue),),
                    strokes=(HintStroke(((42, 40), (58, 40)), 8, green),))
    save_sidecar(sidecar_path(photo), hints, steps, (200, 120))
    rc = main(["--models-dir", str(tiny_models), "colorize", str(photo), "-o",
               str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "records preprocessing (rotate90(k=1)" in err
    out = np.asarray(Image.open(tmp_path / "o" / "photo_colorized.png").convert("RGB"))
    assert out.shape == (120, 200, 3)
    hue, chroma = _hue_at(out, 50, 40)  # the disc got the green
    assert _angle(hue, _hue_of(green)) < 25 and chroma > 15
    hue, chroma = _hue_at(out, 150, 85)  # the square got the blue
    assert _angle(hue, _hue_of(blue)) < 25 and chroma > 15


def test_cli_hints_option_reads_a_v2_file_and_says_what_it_records(
        tiny_models: Path, tmp_path: Path, capsys) -> None:
    photo = _scene(tmp_path / "photo.png")
    h = tmp_path / "mine.hints.json"
    save_sidecar(h, HintSet(points=(HintPoint(50, 40, 5, (40, 170, 50)),)),
                 [Step.make("rotate90", k=3)], (200, 120))
    rc = main(["--models-dir", str(tiny_models), "colorize", str(photo), "--hints", str(h),
               "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "mine.hints.json records preprocessing (rotate90(k=3))" in err
    out = np.asarray(Image.open(tmp_path / "o" / "photo_colorized.png").convert("RGB"))
    hue, _ = _hue_at(out, 50, 40)
    assert _angle(hue, _hue_of((40, 170, 50))) < 25


# ----- point 10: the eraser takes only what it brushes -----

def test_eraser_in_the_middle_splits_a_stroke_in_two() -> None:
    st = HintStroke(((0, 10), (100, 10)), 6, (1, 2, 3))
    hs = HintSet(strokes=(st,), points=(HintPoint(200, 200, 2, (4, 5, 6)),))
    out = hs.erased(50, 10, 5)
    assert out.points == hs.points  # far away: kept
    assert len(out.strokes) == 2
    left, right = out.strokes
    # Cut where the centre line comes within radius + half the width (5 + 3) of the centre.
    assert left.points == ((0, 10), pytest.approx((42, 10)))
    assert right.points == (pytest.approx((58, 10)), (100, 10))
    assert left.width == right.width == 6 and left.rgb == right.rgb == (1, 2, 3)
    _, mask = out.render(20, 110)
    assert mask[10, 5] and mask[10, 95] and not mask[10, 47:54].any()


def test_eraser_trims_ends_removes_what_it_covers_and_keeps_what_it_misses() -> None:
    st = HintStroke(((0, 0), (40, 0), (40, 40)), 2, (1, 2, 3))
    hs = HintSet(strokes=(st,))
    trimmed = hs.erased(0, 0, 4).strokes  # the first end: shortened, not removed
    assert len(trimmed) == 1 and trimmed[0].points[0] == pytest.approx((5, 0))
    assert trimmed[0].points[1:] == ((40, 0), (40, 40))
    corner = hs.erased(40, 0, 4).strokes  # the corner: two legs left
    assert [s.points for s in corner] == [((0, 0), pytest.approx((35, 0))),
                                          (pytest.approx((40, 5)), (40, 40))]
    assert hs.erased(20, 20, 4) is hs  # misses: the very same set (no undo step)
    assert not hs.erased(20, 20, 40).strokes  # covers all of it
    dab = HintSet(strokes=(HintStroke(((5, 5),), 6, (1, 2, 3)),))
    assert not dab.erased(9, 5, 2).strokes and dab.erased(20, 5, 2) is dab
    pts = HintSet(points=(HintPoint(0, 0, 2, (1, 2, 3)), HintPoint(30, 0, 2, (1, 2, 3))))
    assert pts.erased(5, 0, 3).points == (pts.points[1],)
