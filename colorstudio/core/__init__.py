"""Pure computation: colour science, image I/O, hints, model cards, errors.

Nothing here imports Qt or torch (checked by tests/test_layers.py), so every layer can use it.
"""
