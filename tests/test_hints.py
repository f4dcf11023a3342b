"""core/hints.py: hints as data - the JSON format, rendering to (ab, mask) at any size,
chroma-only colours, list operations, sidecars and defensive parsing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.errors import HintsError
from colorstudio.core.hints import (MAX_HINTS_BYTES, HintPoint, HintSet, HintStroke, load_hints,
                                    rgb_chroma, save_hints, sidecar_path)

EXAMPLE = {
    "points": [{"x": 10, "y": 20, "radius": 2, "rgb": [200, 30, 40]}],
    "strokes": [{"points": [[5, 5], [30, 5]], "width": 6, "rgb": [20, 40, 220]}],
}


def test_json_format_round_trips_exactly():
    hs = HintSet.from_json(EXAMPLE)
    assert hs.points == (HintPoint(10.0, 20.0, 2.0, (200, 30, 40)),)
    assert hs.strokes == (HintStroke(((5.0, 5.0), (30.0, 5.0)), 6.0, (20, 40, 220)),)
    assert len(hs) == 2 and hs
    out = hs.to_json()
    assert set(out) == {"points", "strokes"}
    assert set(out["points"][0]) == {"x", "y", "radius", "rgb"}
    assert set(out["strokes"][0]) == {"points", "width", "rgb"}
    assert json.loads(json.dumps(out)) == EXAMPLE  # numbers compare equal (10.0 == 10)
    assert HintSet.from_json(out) == hs


def test_defaults_and_partial_documents():
    hs = HintSet.from_json({"points": [{"x": 1, "y": 2, "rgb": [1, 2, 3]}]})
    assert hs.points[0].radius == 2 and hs.strokes == ()
    hs = HintSet.from_json({"strokes": [{"points": [[1, 2]], "rgb": [1, 2, 3]}]})
    assert hs.strokes[0].width == 6
    assert not HintSet.from_json({})


def test_point_renders_a_square_of_its_radius_in_original_coordinates():
    hs = HintSet(points=(HintPoint(10, 20, 2, (255, 0, 0)),))
    ab, mask = hs.render(40, 50)
    assert ab.shape == (2, 40, 50) and mask.shape == (40, 50)
    assert ab.dtype == np.float32 and mask.dtype == np.float32
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (18, 22, 8, 12)
    assert mask.sum() == 25 and set(np.unique(mask)) == {0.0, 1.0}
    a, b = rgb_chroma((255, 0, 0))
    assert np.allclose(ab[0][mask > 0], a) and np.allclose(ab[1][mask > 0], b)
    assert np.all(ab[:, mask == 0] == 0)


def test_render_scales_to_any_size_and_never_loses_a_hint():
    hs = HintSet(points=(HintPoint(100, 40, 4, (0, 200, 0)),))
    ab, mask = hs.render(50, 100, scale=0.5)
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (18, 22, 48, 52)
    tiny_ab, tiny_mask = hs.render(5, 10, scale=0.05)  # radius 0.2 px at this size
    assert tiny_mask.sum() == 1 and tiny_mask[2, 5] == 1


def test_stroke_renders_a_line_of_its_width():
    hs = HintSet(strokes=(HintStroke(((5, 10), (35, 10)), 6, (20, 40, 220)),))
    ab, mask = hs.render(30, 50)
    ys, xs = np.nonzero(mask)
    assert xs.min() <= 5 and xs.max() >= 35
    assert 5 <= ys.max() - ys.min() + 1 <= 8  # about `width` pixels thick
    assert mask[10, 5:36].all() and mask[0].sum() == 0
    a, b = rgb_chroma((20, 40, 220))
    assert np.allclose(ab[0][mask > 0], a) and np.allclose(ab[1][mask > 0], b)
    # A one-point stroke is a dot.
    dot = HintSet(strokes=(HintStroke(((7, 7),), 1, (20, 40, 220)),))
    assert dot.render(20, 20)[1][7, 7] == 1


def test_only_the_chroma_of_the_picked_colour_is_used():
    # The same hue at two lightnesses: the rendered ab equals Lab chroma, L is never rendered.
    a, b = rgb_chroma((200, 60, 40))
    lab = rgb_to_lab(np.array([[200, 60, 40]], np.float32) / 255)[0]
    assert (a, b) == pytest.approx((float(lab[1]), float(lab[2])), abs=1e-4)
    ab, mask = HintSet(points=(HintPoint(3, 3, 1, (200, 60, 40)),)).render(8, 8)
    assert ab.shape[0] == 2  # chroma only
    grey_ab, _ = HintSet(points=(HintPoint(3, 3, 1, (128, 128, 128)),)).render(8, 8)
    assert np.abs(grey_ab).max() < 0.01  # a grey pick carries no colour


def test_points_win_over_strokes_and_hints_outside_are_ignored():
    hs = HintSet(points=(HintPoint(10, 10, 1, (255, 0, 0)), HintPoint(500, 500, 3, (0, 0, 255))),
                 strokes=(HintStroke(((0, 10), (20, 10)), 4, (0, 255, 0)),))
    ab, mask = hs.render(20, 20)
    assert np.allclose(ab[:, 10, 10], rgb_chroma((255, 0, 0)))
    assert np.allclose(ab[:, 10, 2], rgb_chroma((0, 255, 0)))
    assert mask.sum() > 0 and mask[19, 19] == 0


def test_list_operations_undo_erase_move():
    p1, p2 = HintPoint(1, 1, 2, (1, 2, 3)), HintPoint(50, 50, 2, (4, 5, 6))
    s = HintStroke(((0, 0), (5, 5)), 3, (7, 8, 9))
    hs = HintSet().with_point(p1).with_point(p2).with_stroke(s)
    assert len(hs) == 3
    assert hs.without_point(0).points == (p2,)
    assert hs.without_stroke(0).strokes == ()
    moved = hs.moved_point(1, 60, 61)
    assert moved.points[1].x == 60 and moved.points[1].y == 61 and hs.points[1].x == 50
    assert hs.nearest_point(2, 2, 5) == 0
    assert hs.nearest_point(49, 50, 5) == 1
    assert hs.nearest_point(25, 25, 5) is None


def test_nearest_point_prefers_the_closest_of_overlapping_hints():
    big = HintPoint(0, 0, 20, (1, 2, 3))  # a large hint whose area covers the small one
    small = HintPoint(10, 0, 2, (4, 5, 6))
    hs = HintSet(points=(small, big))
    assert hs.nearest_point(10, 0, 5) == 0
    assert hs.nearest_point(9, 0, 5) == 0  # 1 px from `small`, 9 px from `big`
    hs = HintSet(points=(HintPoint(3, 0, 1, (0, 0, 0)), HintPoint(8, 0, 10, (0, 0, 0))))
    assert hs.nearest_point(2, 0, 5) == 0  # the big hint 6 px away must not steal the click


def test_sidecar_save_and_load(tmp_path: Path):
    img = tmp_path / "photo.tif"
    assert sidecar_path(img) == tmp_path / "photo.hints.json"
    hs = HintSet.from_json(EXAMPLE)
    save_hints(hs, sidecar_path(img))
    written = json.loads(sidecar_path(img).read_text())
    assert written["version"] == 3 and written["coordinates"] == "original"
    assert {k: written[k] for k in ("points", "strokes")} == EXAMPLE
    assert load_hints(sidecar_path(img)) == hs
    assert [p.name for p in tmp_path.iterdir()] == ["photo.hints.json"]  # no temp file left


@pytest.mark.parametrize("doc", [
    [],
    "points",
    {"points": [], "extra": 1},
    {"points": {"x": 1}},
    {"points": [[1, 2]]},
    {"points": [{"x": 1, "rgb": [1, 2, 3]}]},
    {"points": [{"x": 1, "y": 2, "rgb": [1, 2]}]},
    {"points": [{"x": 1, "y": 2, "rgb": [1, 2, 300]}]},
    {"points": [{"x": 1, "y": 2, "rgb": [1.5, 2, 3]}]},
    {"points": [{"x": True, "y": 2, "rgb": [1, 2, 3]}]},
    {"points": [{"x": "1", "y": 2, "rgb": [1, 2, 3]}]},
    {"points": [{"x": float("nan"), "y": 2, "rgb": [1, 2, 3]}]},
    {"points": [{"x": 1e300, "y": 2, "rgb": [1, 2, 3]}]},
    {"points": [{"x": 10**400, "y": 2, "rgb": [1, 2, 3]}]},
    {"strokes": [{"points": [], "rgb": [1, 2, 3]}]},
    {"strokes": [{"points": 5, "rgb": [1, 2, 3]}]},
    {"strokes": [{"points": [[1]], "rgb": [1, 2, 3]}]},
    {"points": [{"x": 1, "y": 1, "rgb": [1, 2, 3]}] * 10_001},
])
def test_malformed_documents_raise_hints_error(doc):
    with pytest.raises(HintsError) as err:
        HintSet.from_json(doc)
    assert "\n" not in str(err.value) and str(err.value)


@pytest.mark.parametrize("text", [
    "{not json",
    "",
    "[" * 100_000,  # nesting bomb: deep enough to exhaust the parser's recursion
    '{"points": [{"x": ' + "9" * 5000 + ', "y": 1, "rgb": [1, 2, 3]}]}',  # int too long
    '{"points": [], "strokes": [], "x": 1}',
])
def test_hostile_hint_files_give_one_line_errors(tmp_path: Path, text: str):
    f = tmp_path / "bad.hints.json"
    f.write_text(text)
    with pytest.raises(HintsError) as err:
        load_hints(f)
    msg = str(err.value)
    assert msg.startswith("bad.hints.json") and "\n" not in msg


def test_oversized_and_unreadable_files(tmp_path: Path):
    big = tmp_path / "big.hints.json"
    big.write_bytes(b" " * (MAX_HINTS_BYTES + 1))
    with pytest.raises(HintsError, match="larger than"):
        load_hints(big)
    with pytest.raises(HintsError, match="missing.hints.json"):
        load_hints(tmp_path / "missing.hints.json")
    binary = tmp_path / "bin.hints.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HintsError):
        load_hints(binary)
