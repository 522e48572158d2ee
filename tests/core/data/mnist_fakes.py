"""Small generated MNIST-format files for the loader and download tests."""

import gzip
import hashlib
import struct

import numpy as np

from core.data.mnist import IDX_PAIRS


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: 00 00 08 ndim, big-endian sizes, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def fake_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, np.arange(n, dtype=np.uint8) % 10


def fake_files(n_train: int = 30, n_test: int = 20) -> tuple[dict[str, bytes], dict]:
    """{file name: gzipped IDX bytes} for the four standard names, and the arrays per split."""
    arrays = {"train": fake_split(n_train, 1), "test": fake_split(n_test, 2)}
    files = {}
    for split, (images_name, labels_name) in IDX_PAIRS.items():
        images, labels = arrays[split]
        files[images_name + ".gz"] = gzip.compress(idx_bytes(images))
        files[labels_name + ".gz"] = gzip.compress(idx_bytes(labels))
    return files, arrays


def checksum_table(files: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()}


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just freed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
