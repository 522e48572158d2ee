"""The MNIST loader: the real t10k files, plain and gzipped IDX, .npz, damaged files, cache dir."""

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.config import DataConfig
from core.data import DataError, load_dataset, mnist
from tests.core.data.mnist_fakes import closed_port_url, fake_files, idx_bytes

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "mnist"
# published class counts of the official MNIST test set
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty BACKPROP_PLAYGROUND_DATA; downloads go to a closed local port (fail fast)."""
    monkeypatch.setenv(mnist.ENV_DATA_DIR, str(tmp_path))
    monkeypatch.setenv(mnist.ENV_MNIST_URL, closed_port_url())
    return tmp_path


def _copy_t10k(directory: Path, unzip: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in SHARED.glob("t10k-*.gz"):
        if unzip:
            (directory / path.stem).write_bytes(gzip.decompress(path.read_bytes()))
        else:
            shutil.copy(path, directory / path.name)


def test_real_t10k_files():
    for path in SHARED.glob("*.gz"):  # the official files: their SHA-256 is in our table
        assert mnist.MNIST_FILES[path.name][1] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert mnist.MNIST_FILES[path.name][0] == path.stat().st_size
    images, labels = mnist.load_mnist_files(SHARED)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == T10K_COUNTS
    assert labels[0] == 7  # the famous first test digit
    assert images.min() == 0 and images.max() == 255
    assert images[:, :2, :].mean() < 1 < 50 < images[:, 10:18, 10:18].mean()  # centred digits


def test_unzipped_idx_files_read_the_same(tmp_path):
    _copy_t10k(tmp_path, unzip=True)
    images, labels = mnist.load_mnist_files(tmp_path)
    ref_images, ref_labels = mnist.load_mnist_files(SHARED)
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)


def test_train_and_test_pairs_concatenate_train_first(tmp_path):
    files, arrays = fake_files(30, 20)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    images, labels = mnist.load_mnist_files(tmp_path)
    np.testing.assert_array_equal(images, np.concatenate([arrays["train"][0], arrays["test"][0]]))
    np.testing.assert_array_equal(labels, np.concatenate([arrays["train"][1], arrays["test"][1]]))


def test_npz_like_keras(tmp_path):
    _, arrays = fake_files(12, 8)
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    images, labels = mnist.load_mnist_files(tmp_path)
    np.testing.assert_array_equal(images, np.concatenate([x_train, x_test]))
    np.testing.assert_array_equal(labels, np.concatenate([y_train, y_test]))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    objects = np.array([{"a": 1}, None], dtype=object)
    np.savez(
        tmp_path / "mnist.npz", x_train=objects, y_train=objects, x_test=objects, y_test=objects
    )
    with pytest.raises(DataError, match="not a usable MNIST .npz"):
        mnist.load_mnist_files(tmp_path)


def test_npz_missing_keys(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing"):
        mnist.load_mnist_files(tmp_path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "could not be read"),  # truncated gzip
        (lambda data: gzip.compress(gzip.decompress(data)[:-5]), "truncated or damaged"),
        (lambda data: gzip.compress(b"\x00\x00\x0d\x03" + gzip.decompress(data)[4:]), "IDX"),
        (lambda data: b"<html>not found</html>", "IDX"),
    ],
)
def test_damaged_files_name_the_file(tmp_path, damage, message):
    files, _ = fake_files(0, 20)
    for name, data in files.items():
        if name.startswith("t10k"):
            (tmp_path / name).write_bytes(damage(data) if "images" in name else data)
    with pytest.raises(DataError, match=message) as err:
        mnist.load_mnist_files(tmp_path)
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)


def test_images_and_labels_must_agree(tmp_path):
    files, arrays = fake_files(0, 20)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_bytes(arrays["test"][1][:5]))
    with pytest.raises(DataError, match="20 images but labels"):
        mnist.load_mnist_files(tmp_path)


def test_train_pair_alone_is_not_enough(tmp_path):
    files, _ = fake_files(10, 10)
    for name, data in files.items():
        if name.startswith("train"):
            (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match="No MNIST files") as err:
        mnist.load_mnist_files(tmp_path)
    assert str(tmp_path) in str(err.value) and "t10k-labels-idx1-ubyte.gz" in str(err.value)


def test_cache_dir_env_and_platform_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv(mnist.ENV_DATA_DIR, str(tmp_path / "data"))
    assert mnist.mnist_cache_dir() == tmp_path / "data" / "mnist"
    monkeypatch.delenv(mnist.ENV_DATA_DIR)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(mnist.sys, "platform", "linux")
    assert mnist.mnist_cache_dir() == tmp_path / "xdg" / "backprop-playground" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.mnist_cache_dir() == tmp_path / ".cache" / "backprop-playground" / "mnist"
    monkeypatch.setattr(mnist.sys, "platform", "darwin")
    expected = tmp_path / "Library" / "Caches" / "backprop-playground" / "mnist"
    assert mnist.mnist_cache_dir() == expected
    monkeypatch.setattr(mnist.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert mnist.mnist_cache_dir() == tmp_path / "local" / "backprop-playground" / "mnist"


def test_base_url_env(monkeypatch):
    monkeypatch.delenv(mnist.ENV_MNIST_URL, raising=False)
    assert mnist.mnist_base_url() == mnist.DEFAULT_MNIST_URL
    monkeypatch.setenv(mnist.ENV_MNIST_URL, "http://example.test/mnist")
    assert mnist.mnist_base_url() == "http://example.test/mnist/"


@pytest.mark.parametrize(("subset", "fraction"), [(1_000, 0.5), (5_000, 0.8), (10_000, 0.1)])
def test_load_dataset_mnist_subsets_offline(data_root, subset, fraction):
    _copy_t10k(data_root / "mnist")
    cfg = DataConfig(dataset="mnist", mnist_subset=subset, train_fraction=fraction, seed=2)
    ds = load_dataset(cfg)
    assert len(ds.y_train) + len(ds.y_test) == subset
    assert len(ds.y_train) == round(subset * fraction)
    assert ds.X_train.shape[1] == 784 and ds.X_train.dtype == np.float32
    assert ds.image_shape == (28, 28) and ds.class_names == [str(d) for d in range(10)]
    assert ds.X_train.min() >= 0.0 and ds.X_train.max() <= 1.0
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    np.testing.assert_allclose(counts / subset, np.array(T10K_COUNTS) / 10_000, atol=1 / subset)
    assert not any("download" in note for note in ds.notes)


def test_mnist_all_with_only_t10k_and_no_network_falls_back(data_root):
    _copy_t10k(data_root / "mnist")
    ds = load_dataset(DataConfig(dataset="mnist", mnist_subset=70_000))
    assert len(ds.y_train) + len(ds.y_test) == 10_000
    assert any("Only 10,000 MNIST images" in note for note in ds.notes)
    assert any("download" in note and "failed" in note for note in ds.notes)


def test_mnist_nothing_there_and_no_network(data_root):
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(dataset="mnist"))
    text = str(err.value)
    assert "failed" in text and str(data_root / "mnist") in text
    assert "train-images-idx3-ubyte.gz" in text and "mnist.npz" in text
    assert not list((data_root / "mnist").iterdir())  # nothing half-written
