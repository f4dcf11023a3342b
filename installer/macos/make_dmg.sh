#!/bin/sh
# Wrap build/pyinstaller/dist/ColorStudio.app into dist/ColorStudio-<version>.dmg (macOS only).
# Run after `python installer/build.py` on a Mac; see installer/README.md.
set -eu
cd "$(dirname "$0")/../.."
VERSION=$(python3 -c 'import re;print(re.search(r"__version__ = \"([^\"]+)\"", open("colorstudio/__init__.py").read()).group(1))')
APP=build/pyinstaller/dist/ColorStudio.app
[ -d "$APP" ] || { echo "make_dmg: $APP not found; run python installer/build.py first" >&2; exit 1; }
# Optional signing: export CODESIGN_IDENTITY="Developer ID Application: ..." first.
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --deep --force --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
fi
STAGE=build/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE" dist
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "ColorStudio $VERSION" -srcfolder "$STAGE" -ov -format UDZO \
    "dist/ColorStudio-$VERSION.dmg"
"$APP/Contents/MacOS/colorstudio" --self-test
echo "dist/ColorStudio-$VERSION.dmg"
