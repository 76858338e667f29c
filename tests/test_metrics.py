"""Tests of genzoo_core.metrics: FID, KID, IS, precision/recall, NLL and their helpers."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist

from genzoo_core import metrics
from genzoo_core.errors import ConfigError, DataError
from genzoo_core.metrics import (
    METRICS,
    FeatureStatistics,
    check_metric_names,
    fid,
    frechet_distance,
    inception_score,
    kid,
    nll_summary,
    precision_recall,
)


def two_sets(n=500, d=16, seed=0):
    """Two different random feature distributions (shifted, correlated)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 1.0
    b = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.5 - 0.3
    return a, b


def reference_fid(x, y):
    """FID without sqrtm: tr((S1 S2)^½) = Σ sqrt(eig(S1^½ S2 S1^½)), via eigh only."""
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.linalg.eigvalsh(root1 @ s2 @ root1)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    return ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean


# ----------------------------------------------------------------------------- FID


def test_fid_matches_independent_eigenvalue_computation():
    a, b = two_sets()
    expected = reference_fid(a, b)
    assert expected > 1.0  # the two distributions really differ
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_closed_form_for_diagonal_gaussians():
    mu1 = np.array([0.0, 1.0, 2.0, 3.0])
    mu2 = np.array([1.0, 0.0, 2.0, 5.0])
    var1 = np.array([1.0, 2.0, 0.5, 3.0])
    var2 = np.array([2.0, 2.0, 1.0, 0.25])
    exact = ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * np.sqrt(var1 * var2)).sum()
    got = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(exact, rel=1e-10)
    # Same spectra in a common rotated basis (commuting, non-diagonal): same distance.
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(4, 4)))
    rotated = frechet_distance(mu1, q @ np.diag(var1) @ q.T, mu2, q @ np.diag(var2) @ q.T)
    assert rotated == pytest.approx(exact, rel=1e-8)


def test_fid_from_large_samples_approaches_closed_form():
    mu1 = np.array([0.0, 1.0, 2.0, 3.0])
    mu2 = np.array([1.0, 0.0, 2.0, 5.0])
    var1 = np.array([1.0, 2.0, 0.5, 3.0])
    var2 = np.array([2.0, 2.0, 1.0, 0.25])
    exact = ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * np.sqrt(var1 * var2)).sum()  # 7.775
    rng = np.random.default_rng(0)
    x = mu1 + np.sqrt(var1) * rng.normal(size=(20_000, 4))
    y = mu2 + np.sqrt(var2) * rng.normal(size=(20_000, 4))
    # Over 10 seeds the estimate's spread was 0.037 (bias ~1e-3): 0.2 is ~5 standard
    # deviations, 2.5 % of the value.
    assert fid(x, y) == pytest.approx(exact, abs=0.2)


def test_fid_of_identical_sets_is_zero_and_fid_is_symmetric():
    a, b = two_sets()
    assert abs(fid(a, a)) < 1e-6
    assert abs(fid(FeatureStatistics.from_features(b), b)) < 1e-6
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-8)


def test_fid_accepts_statistics_and_arrays_alike():
    a, b = two_sets()
    stats_a = FeatureStatistics()
    for chunk in np.array_split(a, 7):
        stats_a.update(chunk)
    assert fid(stats_a, b) == pytest.approx(fid(a, b), rel=1e-9)


def fake_sqrtm(results, calls):
    """A stand-in for scipy.linalg.sqrtm returning ``results`` in turn, then the real one."""
    real_sqrtm = scipy.linalg.sqrtm

    def sqrtm(matrix, *args, **kwargs):
        calls.append(np.array(matrix))
        if results:
            return results.pop(0)
        return real_sqrtm(matrix)

    return sqrtm


def test_non_finite_square_root_retries_with_eps_and_warns(monkeypatch):
    a, b = two_sets()
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    calls = []
    monkeypatch.setattr(scipy.linalg, "sqrtm", fake_sqrtm([np.full((16, 16), np.inf)], calls))
    with pytest.warns(RuntimeWarning, match="adding 0.001 to diagonal"):
        value = frechet_distance(mu1, s1, mu2, s2, eps=1e-3)
    assert np.isfinite(value)
    assert len(calls) == 2
    offset = np.eye(16) * 1e-3
    np.testing.assert_allclose(calls[1], (s1 + offset) @ (s2 + offset), rtol=1e-12)
    assert value == pytest.approx(reference_fid(a, b), rel=1e-3)  # eps barely moves it


def test_still_non_finite_after_eps_raises(monkeypatch):
    bad = np.full((3, 3), np.nan)
    monkeypatch.setattr(scipy.linalg, "sqrtm", fake_sqrtm([bad, bad], []))
    with pytest.warns(RuntimeWarning), pytest.raises(DataError, match="singular"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(3))


def test_large_imaginary_component_raises(monkeypatch):
    root = np.eye(4) + 0.5j * np.eye(4)
    monkeypatch.setattr(scipy.linalg, "sqrtm", fake_sqrtm([root], []))
    with pytest.raises(DataError, match="imaginary component"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), np.eye(4))


def test_small_imaginary_component_is_dropped(monkeypatch):
    root = np.eye(4) * 2 + 1e-6j * np.eye(4)  # tr = 8: distance 4 + 4 - 16
    monkeypatch.setattr(scipy.linalg, "sqrtm", fake_sqrtm([root], []))
    value = frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), np.eye(4))
    assert isinstance(value, float)
    assert value == pytest.approx(-8.0)


def test_old_scipy_sqrtm_is_called_with_disp_false(monkeypatch):
    # SciPy < 1.16 takes disp=False and returns (root, error estimate), as pytorch-fid uses.
    real_sqrtm = scipy.linalg.sqrtm
    seen = []

    def old_sqrtm(matrix, disp=True):
        seen.append(disp)
        return real_sqrtm(matrix), 0.0

    monkeypatch.setattr(metrics.distribution, "_SQRTM_TAKES_DISP", True)
    monkeypatch.setattr(scipy.linalg, "sqrtm", old_sqrtm)
    a, b = two_sets()
    assert fid(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6)
    assert seen == [False]


def test_frechet_distance_shape_mismatch_names_both_shapes():
    with pytest.raises(DataError, match=r"\(3,\).*\(4,\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(DataError, match=r"\(3, 3\).*\(2, 2\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))


def test_fid_with_fewer_samples_than_dimensions_suggests_a_count():
    rng = np.random.default_rng(0)
    enough = rng.normal(size=(100, 16))
    with pytest.raises(DataError, match=r"fake features: 16 samples.*at least 17 samples"):
        fid(enough, rng.normal(size=(16, 16)))
    with pytest.raises(DataError, match=r"real features.*at least 17 samples"):
        fid(FeatureStatistics.from_features(rng.normal(size=(5, 16))), enough)


def test_fid_rejects_different_dimensions():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="16 and 8"):
        fid(rng.normal(size=(100, 16)), rng.normal(size=(100, 8)))


# ------------------------------------------------------------------ FeatureStatistics


def test_streamed_statistics_equal_numpy_on_all_features():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16)) + 1000.0  # large mean
    stats = FeatureStatistics()
    start = 0
    for size in (1, 7, 100, 0, 392):
        stats.update(features[start : start + size].astype(np.float32 if size == 7 else float))
        start += size
    expected = features.copy()
    expected[1:8] = expected[1:8].astype(np.float32)  # that batch was passed as float32
    assert stats.count == 500 and stats.dim == 16
    np.testing.assert_allclose(stats.mean, expected.mean(axis=0), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        stats.covariance, np.cov(expected, rowvar=False), rtol=1e-10, atol=1e-10
    )
    assert stats.mean.dtype == np.float64 and stats.covariance.dtype == np.float64


def test_statistics_save_load_round_trip(tmp_path):
    a, b = two_sets()
    stats = FeatureStatistics.from_features(a[:300])
    path = stats.save(tmp_path / "cache" / "real.npz")
    loaded = FeatureStatistics.load(path)
    assert (loaded.count, loaded.dim) == (300, 16)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)
    loaded.update(a[300:])  # accumulation continues after a reload
    np.testing.assert_allclose(loaded.covariance, np.cov(a, rowvar=False), rtol=1e-10)
    again = FeatureStatistics.from_dict(loaded.to_dict())
    assert fid(again, b) == pytest.approx(fid(a, b), rel=1e-9)


def test_statistics_load_rejects_missing_or_foreign_files(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        FeatureStatistics.load(tmp_path / "absent.npz")
    np.savez(tmp_path / "other.npz", mu=np.zeros(3), sigma=np.eye(3))
    with pytest.raises(DataError, match="missing"):
        FeatureStatistics.load(tmp_path / "other.npz")


def test_statistics_reject_nan_and_dimension_change_without_changing_state():
    stats = FeatureStatistics().update(np.ones((4, 3)))
    bad = np.ones((2, 3))
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        stats.update(bad)
    with pytest.raises(DataError, match="infinite"):
        stats.update(np.full((2, 3), np.inf))
    with pytest.raises(DataError, match="dimension changed"):
        stats.update(np.ones((2, 5)))
    with pytest.raises(DataError, match=r"shape \(n, d\)"):
        stats.update(np.ones(3))
    assert (stats.count, stats.dim) == (4, 3)


def test_empty_statistics_refuse_mean_and_covariance():
    stats = FeatureStatistics()
    assert stats.count == 0 and stats.dim is None
    with pytest.raises(DataError):
        _ = stats.mean
    stats.update(np.ones((1, 3)))
    with pytest.raises(DataError, match="at least 2"):
        _ = stats.covariance


# ------------------------------------------------------------------------------- KID


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(1)
    same = np.array(
        [
            kid(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), subsets=1, subset_size=100)[
                0
            ]
            for _ in range(200)
        ]
    )
    # A biased (V-statistic) estimator averages ~0.17 here, 60 standard errors off.
    standard_error = same.std(ddof=1) / math.sqrt(same.size)
    assert abs(same.mean()) < 3 * standard_error
    shifted = kid(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 0.5, subsets=20)
    assert shifted[0] > 0.5 and shifted[0] > 10 * shifted[1]


def test_kid_equals_direct_unbiased_mmd_on_whole_sets():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 0.2

    def k(a, b):
        return (a @ b.T / 5 + 1) ** 3

    m = 30
    off = ~np.eye(m, dtype=bool)
    expected = k(x, x)[off].mean() + k(y, y)[off].mean() - 2 * k(x, y).mean()
    # Whole sets in every subset: each subset gives exactly the same value.
    mean, std = kid(x, y, subsets=3, subset_size=m)
    assert isinstance(mean, float) and isinstance(std, float)
    assert mean == pytest.approx(expected, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_subset_size_is_capped_and_seeded():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(80, 4))
    assert kid(x, y, subsets=5, subset_size=1000) == kid(x, y, subsets=5, subset_size=50)
    first = kid(x, y, subsets=5, subset_size=20, seed=1)
    assert first == kid(x, y, subsets=5, subset_size=20, seed=1)
    assert first != kid(x, y, subsets=5, subset_size=20, seed=2)
    assert first[1] > 0  # real subsets of 20 differ
    # subset_size is honoured: whole sets of 50 give one value, subsets of 20 vary.
    assert kid(x, y[:50], subsets=5, subset_size=50)[1] == pytest.approx(0.0, abs=1e-12)
    assert kid(x, y[:50], subsets=5, subset_size=20)[1] > 1e-6


def test_kid_needs_two_samples_per_set():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="at least 2"):
        kid(rng.normal(size=(1, 4)), rng.normal(size=(10, 4)))
    with pytest.raises(ConfigError, match="subset_size"):
        kid(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), subset_size=1)


# ---------------------------------------------------------------------- Inception Score


def test_inception_score_of_confident_uniform_classifier_is_class_count():
    classes = 7
    probabilities = np.eye(classes)[np.arange(10 * classes * 3) % classes]
    score, std = inception_score(probabilities, splits=10)
    assert score == pytest.approx(classes, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_constant_classifier_is_one():
    row = np.random.default_rng(0).dirichlet(np.ones(5))
    score, _ = inception_score(np.tile(row, (100, 1)), splits=4)
    assert score == pytest.approx(1.0, abs=1e-12)
    # Never below its floor of 1, though rounding leaves some of these KLs a hair under 0.
    rng = np.random.default_rng(0)
    rows = [np.tile(rng.dirichlet(np.ones(7)), (30, 1)) for _ in range(200)]
    assert min(inception_score(p, splits=3)[0] for p in rows) >= 1.0


def test_inception_score_by_hand():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    marginal = np.array([0.75, 0.25])
    kl1 = math.log(1 / marginal[0])
    kl2 = 0.5 * math.log(0.5 / marginal[0]) + 0.5 * math.log(0.5 / marginal[1])
    assert inception_score(p, splits=1) == pytest.approx((math.exp((kl1 + kl2) / 2), 0.0))


def test_inception_score_rejects_rows_not_summing_to_one():
    with pytest.raises(DataError, match="sum to 1"):
        inception_score(np.full((20, 4), 0.3), splits=2)
    with pytest.raises(DataError, match="negative"):
        inception_score(np.array([[1.5, -0.5]] * 4), splits=2)


# ----------------------------------------------------------------- precision / recall


def brute_force_precision_recall(real, fake, k):
    def radii(x):
        return np.sort(cdist(x, x), axis=1)[:, k]

    precision = (cdist(fake, real) <= radii(real)[None, :]).any(axis=1).mean()
    recall = (cdist(real, fake) <= radii(fake)[None, :]).any(axis=1).mean()
    return precision, recall


def test_precision_recall_identical_and_far_clouds():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 8))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_precision_recall_with_half_the_modes():
    rng = np.random.default_rng(0)
    blob_a = rng.normal(size=(500, 2)) - [50.0, 0.0]
    blob_b = rng.normal(size=(500, 2)) + [50.0, 0.0]
    real = np.concatenate([blob_a, blob_b])
    fake = rng.normal(size=(500, 2)) - [50.0, 0.0]  # only blob A
    precision, recall = precision_recall(real, fake)
    # Blob B lies 100 away, far outside every fake radius (~0.1): recall <= 0.5, and
    # it is exactly half the recall against blob A alone. With k=3 in 2-D, a set
    # drawn from the same distribution covers 96-99 % of the other (5 seeds), so
    # precision > 0.9 and recall within [0.45, 0.5].
    assert precision > 0.9
    assert 0.45 <= recall <= 0.5
    alone = precision_recall(blob_a, fake)
    assert precision == alone[0] and recall == pytest.approx(alone[1] / 2)


def test_precision_recall_matches_brute_force_and_batching_does_not_matter():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(300, 6))
    fake = rng.normal(size=(250, 6)) * 0.7 + 1.0
    expected = brute_force_precision_recall(real, fake, k=5)
    assert 0.05 < expected[0] < 0.95 and 0.05 < expected[1] < 0.95  # informative case
    whole = precision_recall(real, fake, k=5, batch_size=10_000)
    assert whole == pytest.approx(expected, abs=1e-12)
    assert precision_recall(real, fake, k=5, batch_size=7) == whole


def test_precision_recall_needs_more_than_k_points():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="more than 3 fake"):
        precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(3, 2)), k=3)
    with pytest.raises(DataError, match="more than 5 real"):
        precision_recall(rng.normal(size=(5, 2)), rng.normal(size=(10, 2)), k=5)
    assert precision_recall(rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), k=3)


# ------------------------------------------------------------------------------- NLL


def test_nll_summary_by_hand():
    summary = nll_summary(np.array([-1.0, -2.0, -3.0, -6.0]), num_dimensions=2)
    assert summary["count"] == 4
    assert summary["nll_nats"] == pytest.approx(3.0)
    assert summary["nll_nats_std_error"] == pytest.approx(math.sqrt(14 / 3) / 2)
    assert summary["bits_per_dim"] == pytest.approx(3.0 / (2 * math.log(2)))


def test_nll_summary_bits_per_dim_of_known_value():
    summary = nll_summary(np.full(10, -784 * math.log(2)), num_dimensions=784)
    assert summary["bits_per_dim"] == pytest.approx(1.0, rel=1e-12)
    assert summary["nll_nats_std_error"] == pytest.approx(0.0, abs=1e-9)


def test_nll_summary_rejects_nan():
    with pytest.raises(DataError, match="NaN"):
        nll_summary(np.array([-1.0, np.nan]), num_dimensions=4)
    with pytest.raises(ConfigError, match="num_dimensions"):
        nll_summary(np.array([-1.0]), num_dimensions=0)


# ----------------------------------------------------------------------------- names


def test_check_metric_names_accepts_known_and_suggests_close():
    assert check_metric_names(METRICS) == list(METRICS)
    assert check_metric_names(" FID, kid,fid ") == ["fid", "kid"]
    with pytest.raises(ConfigError, match="did you mean 'fid'"):
        check_metric_names(["kid", "fdi"])
    with pytest.raises(ConfigError, match="known metrics: fid, kid, is, pr, nll, label_accuracy"):
        check_metric_names(["inception"])


def test_metrics_module_does_not_import_tensorflow():
    code = (
        "import sys, genzoo_core; before = set(sys.modules); import genzoo_core.metrics; "
        "new = set(sys.modules) - before; "
        "bad = sorted(m for m in new if m.split('.')[0] in ('tensorflow', 'keras', 'torch')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert "tensorflow" not in metrics.__dict__


# ------------------------------------------------------------------ image similarity


def test_ssim_matches_tensorflow_and_is_one_for_identical_images():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x = rng.random((3, 40, 37, 3))
    noisy = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    ours = metrics.ssim(x, noisy)
    reference = tf.image.ssim(tf.constant(x), tf.constant(noisy), max_val=1.0).numpy()
    # TensorFlow builds its Gaussian window in float32: agreement is to ~3e-7.
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(metrics.ssim(x, x), 1.0, atol=1e-12)
    # More noise, less similarity; 8-bit data with max_value 255 gives the same numbers.
    noisier = np.clip(x + 0.4 * rng.standard_normal(x.shape), 0, 1)
    assert np.all(metrics.ssim(x, noisier) < ours)
    np.testing.assert_allclose(metrics.ssim(x * 255, noisy * 255, max_value=255), ours)


def test_mean_absolute_error_per_image():
    x = np.zeros((2, 4, 4, 3))
    y = np.stack([np.full((4, 4, 3), 0.25), np.full((4, 4, 3), 1.0)])
    np.testing.assert_allclose(metrics.mean_absolute_error(x, y), [0.25, 1.0])


@pytest.mark.parametrize(
    "x, y, words",
    [
        (np.zeros((2, 16, 16, 3)), np.zeros((2, 16, 16, 1)), "same shape"),
        (np.zeros((16, 16, 3)), np.zeros((16, 16, 3)), "NHWC"),
        (np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8, 3)), "smaller than"),
        (np.full((1, 16, 16, 3), np.nan), np.zeros((1, 16, 16, 3)), "NaN"),
    ],
)
def test_ssim_refuses_bad_inputs(x, y, words):
    with pytest.raises(DataError, match=words):
        metrics.ssim(x, y)
