"""The embedded default model repository, served when no other is given.

Layout (DESIGN.md, contract 1): ``<name>/<version>/{encoder.onnx, decoder.onnx,
manifest.json}``. This file only makes the folder importable so that the repository ships
inside the wheel and can be located with :func:`importlib.resources.files`.
"""
