#!/usr/bin/env bash
# Reproduce every bundled model: train each recipe (stages resume/skip when done), then export
# weights + cards with metrics measured on ../shared/data/val. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RECIPES=(guided_mobilenet guided_unet mathur2023_gan dehghan2023_autoencoder mane2021_cnn roshana2023_pix2pix
         roshana2023_resnet18_unet mahajan2022_cyclegan)
for r in "${@:-${RECIPES[@]}}"; do
  "$PY" -m colorstudio.train "training/recipes/$r.toml" --threads 2
done
for r in "${@:-${RECIPES[@]}}"; do
  "$PY" -m colorstudio.train.export "training/recipes/$r.toml"
done
