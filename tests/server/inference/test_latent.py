"""Latent arithmetic: reproducible draws and paths that end on their endpoints."""

from __future__ import annotations

import numpy as np

from vaeserve.server.inference import latent


def test_reparameterised_draws_repeat_for_a_seed() -> None:
    mean, log_var = np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)
    first = latent.reparameterise(mean, log_var, 5)
    np.testing.assert_array_equal(first, latent.reparameterise(mean, log_var, 5))
    assert not np.array_equal(first, latent.reparameterise(mean, log_var, 6))


def test_a_tiny_variance_draws_the_mean() -> None:
    mean = np.full((2, 3), 4.0, np.float32)
    z = latent.reparameterise(mean, np.full((2, 3), -60.0, np.float32), 1)
    np.testing.assert_allclose(z, mean, atol=1e-6)


def test_prior_samples_scale_with_temperature() -> None:
    np.testing.assert_allclose(
        latent.sample_prior(5, 3, 2.0, 7), 2.0 * latent.sample_prior(5, 3, 1.0, 7), rtol=1e-6
    )


def test_linear_path_is_evenly_spaced() -> None:
    path = latent.linear_path(np.array([0.0, 0.0]), np.array([4.0, 8.0]), 5)
    np.testing.assert_allclose(path, [[0, 0], [1, 2], [2, 4], [3, 6], [4, 8]])


def test_spherical_path_moves_the_norm_linearly() -> None:
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 0.0, 4.0])
    path = latent.spherical_path(a, b, 5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), [2.0, 2.5, 3.0, 3.5, 4.0], rtol=1e-6)
    np.testing.assert_allclose(path[[0, -1]], [a, b])


def test_spherical_path_of_opposite_points_falls_back_to_a_line() -> None:
    a = np.array([1.0, 0.0])
    path = latent.spherical_path(a, -a, 3)
    np.testing.assert_allclose(path, latent.linear_path(a, -a, 3))


def test_spherical_path_from_the_origin_is_a_line() -> None:
    a, b = np.zeros(2), np.array([1.0, 1.0])
    np.testing.assert_allclose(latent.spherical_path(a, b, 4), latent.linear_path(a, b, 4))


def test_spherical_path_between_huge_endpoints_stays_finite() -> None:
    a = np.full(16, 3e38, np.float32)
    b = np.concatenate([a[:8], -a[8:]])
    path = latent.spherical_path(a, b, 5)
    assert path.dtype == np.float32
    assert np.isfinite(path).all()


def test_fresh_seeds_differ() -> None:
    assert len({latent.new_seed() for _ in range(8)}) == 8
