"""MNIST: read the four IDX files (gzipped or not) or one Keras-style mnist.npz; download them
once into a cache directory with progress, SHA-256 check and atomic writes.

Checksums: the SHA-256 of the official gzipped files. The two t10k sums were computed here from
the official test files in ../shared/data/mnist (their MD5s, 9fb629c4... and ec29112d..., match
the well-known published MD5s); the two train sums are the widely published values (TensorFlow
Datasets' MNIST checksums), which could not be recomputed on this offline machine.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.data.dataset import DataError

ENV_DATA_DIR = "BACKPROP_PLAYGROUND_DATA"
ENV_MNIST_URL = "BACKPROP_PLAYGROUND_MNIST_URL"
DEFAULT_MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
NPZ_NAME = "mnist.npz"

# name -> (size in bytes, sha256) of the official gzipped files; test files first (small)
MNIST_FILES: dict[str, tuple[int | None, str | None]] = {
    "t10k-labels-idx1-ubyte.gz": (
        4_542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    "t10k-images-idx3-ubyte.gz": (
        1_648_877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "train-labels-idx1-ubyte.gz": (
        28_881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "train-images-idx3-ubyte.gz": (
        9_912_422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
}
# split -> (images, labels) IDX names without ".gz"
IDX_PAIRS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MAX_FILE_BYTES = 64 * 1024 * 1024  # the largest MNIST file, unzipped, is 47 MB
CHUNK = 64 * 1024

Progress = Callable[[float, str], None]
"""progress(fraction 0..1 over the whole download, a short text such as '3.1 of 9.9 MB')."""


# --- where ----------------------------------------------------------------------------------


def mnist_cache_dir() -> Path:
    """<data dir>/mnist. Data dir: $BACKPROP_PLAYGROUND_DATA, else the platform's cache dir:
    $XDG_CACHE_HOME or ~/.cache (Linux), ~/Library/Caches (macOS), %LOCALAPPDATA% (Windows),
    each + /backprop-playground."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        return Path(env).expanduser() / "mnist"
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "backprop-playground" / "mnist"


def mnist_base_url() -> str:
    """$BACKPROP_PLAYGROUND_MNIST_URL or the public mirror, always ending with '/'."""
    url = os.environ.get(ENV_MNIST_URL, "").strip() or DEFAULT_MNIST_URL
    return url if url.endswith("/") else url + "/"


def manual_instructions(directory: Path) -> str:
    """How to supply MNIST by hand, naming the directory and the file names."""
    names = ", ".join(MNIST_FILES)
    return (
        f"To add MNIST by hand, put the four files {names} (gzipped or not; at least the two "
        f"t10k files) or a single {NPZ_NAME} (keys x_train, y_train, x_test, y_test) into "
        f"{directory} , or set {ENV_DATA_DIR} to a folder whose 'mnist' subfolder holds them."
    )


# --- reading --------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file of unsigned bytes: magic 00 00 08 ndim, ndim big-endian uint32 sizes,
    then prod(sizes) bytes. Gzip is detected by its magic bytes, not by the name."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path} could not be read ({err}). Delete or replace it.") from None
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 4:
        raise DataError(f"{path} is not an IDX file of unsigned bytes. Delete or replace it.")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim].ljust(4 * ndim, b"\0"))
    start = 4 + 4 * ndim
    if len(data) != start + int(np.prod(dims)):
        raise DataError(
            f"{path} is truncated or damaged: its header announces {dims} bytes of data but "
            f"{len(data) - start} follow. Delete or replace it."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(dims)


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{where}: images must be n x 28 x 28, found {images.shape}.")
    if labels.shape != (images.shape[0],):
        raise DataError(f"{where}: {images.shape[0]} images but labels of shape {labels.shape}.")
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"{where}: labels must be digits 0..9, found {int(labels.max())}.")


def _idx_path(directory: Path, base: str) -> Path | None:
    for name in (base + ".gz", base):
        if (directory / name).is_file():
            return directory / name
    return None


def _present_files(directory: Path) -> list[Path]:
    """The files the loader would read: mnist.npz, else the t10k IDX pair preceded by the train
    pair when that is complete too; [] when neither mnist.npz nor the t10k pair is there."""
    if (directory / NPZ_NAME).is_file():
        return [directory / NPZ_NAME]
    test, train = ([_idx_path(directory, base) for base in IDX_PAIRS[s]] for s in ("test", "train"))
    if not all(test):
        return []
    return (train if all(train) else []) + test


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an archive of arrays")
        with npz:
            missing = [key for key in keys if key not in npz.files]
            if missing:
                raise ValueError(f"missing {missing}; expected the arrays {list(keys)}")
            parts = {key: np.asarray(npz[key]) for key in keys}
    except (OSError, ValueError, EOFError, zlib.error) as err:
        raise DataError(f"{path} is not a usable MNIST .npz file: {err}.") from None
    for split in ("train", "test"):
        _check_pair(parts[f"x_{split}"], parts[f"y_{split}"], f"{path} ({split})")
    images = np.concatenate([parts["x_train"], parts["x_test"]])
    labels = np.concatenate([parts["y_train"], parts["y_test"]])
    if images.min(initial=0) < 0 or images.max(initial=0) > 255:
        raise DataError(f"{path}: pixel values must be 0..255.")
    return images.astype(np.uint8), labels.astype(np.uint8)


@lru_cache(maxsize=2)
def _load_cached(files: tuple[tuple[str, int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Keyed by (path, size, mtime) of every file, so a replaced file is read again."""
    paths = [Path(name) for name, _, _ in files]
    if paths[0].name == NPZ_NAME:
        images, labels = _read_npz(paths[0])
    else:
        pairs = [(read_idx(paths[i]), read_idx(paths[i + 1])) for i in range(0, len(paths), 2)]
        for (x, y), path in zip(pairs, paths[::2], strict=True):
            _check_pair(x, y, str(path))
        images = np.concatenate([x for x, _ in pairs])
        labels = np.concatenate([y for _, y in pairs])
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_mnist_files(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels uint8 (n,)) from `directory`: mnist.npz if present,
    else the train and t10k IDX pairs that are complete (t10k alone gives the 10,000 test
    images). Train comes first. The arrays are cached and read-only."""
    directory = Path(directory)
    files = _present_files(directory)
    if not files:
        raise DataError(f"No MNIST files found in {directory}. {manual_instructions(directory)}")
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return _load_cached(tuple(stats))


# --- downloading ----------------------------------------------------------------------------


def _weights(files: dict, names: list[str]) -> list[float]:
    sizes = [files[name][0] for name in names]
    if all(sizes):
        return [s / sum(sizes) for s in sizes]
    return [1.0 / len(names)] * len(names)


def _fetch(url: str, target: Path, size: int | None, sha256: str | None, timeout: float, report):
    """Stream url into a temporary file beside target, check length and SHA-256, then rename.

    Whatever goes wrong, the temporary file is removed: target is either complete or absent.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "backprop-playground"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            header = resp.headers.get("Content-Length", "")
            expected = int(header) if header.isdigit() else size
            if expected is not None and expected > MAX_FILE_BYTES:
                raise DataError(f"{url} announces {expected:,} bytes, more than MNIST can be.")
            digest, got = hashlib.sha256(), 0
            while chunk := resp.read(CHUNK):
                got += len(chunk)
                if got > MAX_FILE_BYTES:
                    raise DataError(f"{url} sends more than {MAX_FILE_BYTES:,} bytes.")
                out.write(chunk)
                digest.update(chunk)
                report(got, expected)
        if expected is not None and got != expected:
            raise DataError(f"the transfer was cut: {got:,} of {expected:,} bytes arrived")
        if sha256 and digest.hexdigest() != sha256:
            raise DataError(
                f"checksum mismatch (SHA-256 {digest.hexdigest()[:16]}..., expected "
                f"{sha256[:16]}...): the file is not the official one"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _why(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"the server answered HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"no connection ({err.reason})"
    if isinstance(err, TimeoutError):
        return "the connection timed out"
    return f"the connection failed ({type(err).__name__}: {err})"


def download_mnist(
    base_url: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
    files: dict[str, tuple[int | None, str | None]] | None = None,
) -> list[Path]:
    """Download each of `files` (default MNIST_FILES) not yet in cache_dir from base_url + name.

    Raises DataError saying what failed and how to place the files by hand. Returns the paths.
    """
    base_url = base_url or mnist_base_url()
    directory = Path(cache_dir) if cache_dir is not None else mnist_cache_dir()
    files = MNIST_FILES if files is None else files
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise DataError(f"The MNIST address {base_url!r} must start with http:// or https://.")
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"Cannot create the MNIST cache directory {directory} ({err}).") from None
    missing = [name for name in files if not (directory / name).is_file()]
    done = 0.0
    for name, weight in zip(missing, _weights(files, missing), strict=True):
        size, sha256 = files[name]

        def report(got: int, total: int | None, name=name, weight=weight, done=done) -> None:
            if progress is not None:
                part = got / total if total else 0.0
                progress(min(done + weight * part, 1.0), f"{name}: {got / 1e6:.1f} MB")

        url = base_url + name
        try:
            _fetch(url, directory / name, size, sha256, timeout, report)
        except DataError as err:
            raise DataError(
                f"MNIST download of {url} failed: {err}. {manual_instructions(directory)}"
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise DataError(
                f"MNIST download of {url} failed: {_why(err)}. {manual_instructions(directory)}"
            ) from None
        done += weight
    if progress is not None:
        progress(1.0, "MNIST is ready")
    return [directory / name for name in files]


def mnist_arrays(
    need: int, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images, labels and notes for `need` images: the cache as it is when it holds enough,
    else download what is missing; if that fails, fall back to what is there (with a note)."""
    directory = mnist_cache_dir()
    notes: list[str] = []
    if _present_files(directory):
        images, labels = load_mnist_files(directory)
        if len(labels) >= need:
            return images, labels, notes
        try:
            download_mnist(None, directory, progress)
        except DataError as err:
            notes.append(f"Using the {len(labels):,} images found in {directory}: {err}")
            return images, labels, notes
    else:
        download_mnist(None, directory, progress)
    images, labels = load_mnist_files(directory)
    return images, labels, notes
