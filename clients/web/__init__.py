"""The latent-space explorer page (``vaeserve.web``): plain files the server serves at ``/``.

This module exists only so the folder ships inside the wheel as package data; the page is
HTML, CSS and ES modules, and nothing here is imported at run time
(:mod:`vaeserve.server.http.static` reads the files through ``importlib.resources``).
"""
