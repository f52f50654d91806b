"""The page's own numerics, run in the browser: tensors as the API carries them, and the
Gaussian's inverse CDF the manifold grid is spaced by."""

import base64
from statistics import NormalDist

import numpy as np

from tests.web.explorer import open_explorer


def test_inverse_cdf_matches_pythons_to_1e_8(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    probabilities = [1e-6, 0.001, 0.02, 0.0243, 0.1, 0.5, 0.77, 0.976, 0.999, 1 - 1e-6]
    quantiles = page.evaluate(
        "async (ps) => { const t = await import('/tensors.js'); return ps.map(t.normalQuantile); }",
        probabilities,
    )
    expected = [NormalDist().inv_cdf(p) for p in probabilities]
    assert np.allclose(quantiles, expected, rtol=0, atol=1e-8)


def test_floats_travel_as_little_endian_float32_base64(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    values = [0.0, -1.5, 3.25, 1e-7, 65504.0]
    encoded = page.evaluate(
        "async (vs) => (await import('/tensors.js')).floatsToBase64(vs)", values
    )
    assert encoded == base64.b64encode(np.asarray(values, "<f4").tobytes()).decode()
    decoded = page.evaluate(
        "async (text) => Array.from((await import('/tensors.js')).base64ToFloats(text))", encoded
    )
    assert decoded == [float(value) for value in np.asarray(values, "<f4")]
