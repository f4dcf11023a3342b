"""Screenshots of guided colourisation from real windows (widget.grab()): one stroke on a
photo, before and after, and the uncertainty overlay with "Suggest a spot".

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_guidance_screenshots.py \
        --photo PHOTO --stroke 0.35,0.55,0.65,0.75 --rgb 150,40,60 --out DIR

--stroke is x0,y0,x1,y1 as fractions of the photo's width and height. Writes
<prefix>_before.png, <prefix>_stroke.png, <prefix>_reach.png (with "Show reach") and
<prefix>_uncertainty.png to --out, and with --spread S also <prefix>_spread.png and
<prefix>_spread_reach.png: the same stroke with the Hint spread slider at S (0..1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from make_screenshots import settle, wait_for  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from colorstudio.app import build_window, make_settings  # noqa: E402
from colorstudio.core.hints import HintSet, HintStroke  # noqa: E402


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", type=Path, required=True)
    ap.add_argument("--stroke", type=_floats, required=True)
    ap.add_argument("--rgb", type=_floats, default=[150, 40, 60])
    ap.add_argument("--width", type=float, default=0.04, help="brush, fraction of the width")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--prefix", default="guidance")
    ap.add_argument("--spread", type=float, help="also the stroke at this hint spread (0..1)")
    args = ap.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept alive to the end
    tmp = tempfile.TemporaryDirectory()
    photo = Path(tmp.name) / args.photo.name  # the sidecar goes beside the copy
    photo.write_bytes(args.photo.read_bytes())
    window, services = build_window(None, make_settings(Path(tmp.name) / "s.ini"))
    window.resize(1280, 800)
    window.show()
    window.open_paths([photo])
    wait_for(window.resultShown)
    window.set_mode("side")
    settle()
    args.out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out / f"{args.prefix}_before.png"))
    w, h = window.current.space_size()
    x0, y0, x1, y1 = args.stroke
    rgb = tuple(int(v) for v in args.rgb)
    stroke = HintStroke(((x0 * w, y0 * h), (x1 * w, y1 * h)), args.width * w, rgb)
    window.set_colour(rgb)
    window.hints._hints_edited(HintSet(strokes=(stroke,)), "Screenshot stroke")
    window.colourise()
    wait_for(window.resultShown)
    settle()
    window.grab().save(str(args.out / f"{args.prefix}_stroke.png"))
    guide = window.hints.guidance
    guide.show_reach.setChecked(True)
    settle()
    window.grab().save(str(args.out / f"{args.prefix}_reach.png"))
    guide.show_reach.setChecked(False)
    if args.spread is not None:  # through the slider, as a user moves it
        guide.spread.slider.setValue(round(args.spread * 100))
        guide.spread.slider.sliderReleased.emit()
        wait_for(window.resultShown)
        settle()
        window.grab().save(str(args.out / f"{args.prefix}_spread.png"))
        guide.show_reach.setChecked(True)
        settle()
        window.grab().save(str(args.out / f"{args.prefix}_spread_reach.png"))
    guide.show_uncertainty.setChecked(True)
    guide.suggest_spot()
    settle()
    window.grab().save(str(args.out / f"{args.prefix}_uncertainty.png"))
    window.close()
    services.shutdown()
    tmp.cleanup()
    print(f"screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
