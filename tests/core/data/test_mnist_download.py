"""download_mnist against a small HTTP server on 127.0.0.1 serving generated IDX files."""

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.config import DataConfig
from core.data import DataError, load_dataset, mnist
from tests.core.data.mnist_fakes import checksum_table, closed_port_url, fake_files


class Server:
    """Serves `files` by name; `truncate` names get a Content-Length larger than the body."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.truncate: set[str] = set()
        self.delay = 0.0
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(name)
                time.sleep(server.delay)
                data = server.files.get(name)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(name, data)  # (the timeout test's client gives up early)

            def _send(self, name, data):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if name in server.truncate:
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])  # then the connection closes
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def fakes():
    return fake_files(30, 20)


@pytest.fixture
def server(fakes):
    srv = Server(fakes[0])
    yield srv
    srv.close()


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_download_success_with_progress(server, fakes, tmp_path):
    files, arrays = fakes
    calls = []
    paths = mnist.download_mnist(
        server.url,
        tmp_path,
        lambda f, text: calls.append((f, text)),
        timeout=5,
        files=checksum_table(files),
    )
    assert sorted(p.name for p in paths) == sorted(files)
    assert _leftovers(tmp_path) == sorted(files)  # no .part files
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(calls) >= 5
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert any("train-images-idx3-ubyte.gz" in text for _, text in calls)
    images, labels = mnist.load_mnist_files(tmp_path)
    np.testing.assert_array_equal(labels, np.concatenate([arrays["train"][1], arrays["test"][1]]))
    assert images.shape == (50, 28, 28)


def test_files_already_there_are_not_fetched_again(server, fakes, tmp_path):
    files, _ = fakes
    table = checksum_table(files)
    mnist.download_mnist(server.url, tmp_path, None, timeout=5, files=table)
    first = len(server.requests)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    mnist.download_mnist(server.url, tmp_path, None, timeout=5, files=table)
    assert first == 4 and server.requests[first:] == ["train-images-idx3-ubyte.gz"]


def test_checksum_mismatch_leaves_no_file(server, fakes, tmp_path):
    files, _ = fakes
    table = checksum_table(files)
    size, _ = table["t10k-images-idx3-ubyte.gz"]
    table["t10k-images-idx3-ubyte.gz"] = (size, "0" * 64)
    with pytest.raises(DataError, match="checksum mismatch") as err:
        mnist.download_mnist(server.url, tmp_path, None, timeout=5, files=table)
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)
    assert "t10k-images-idx3-ubyte.gz" not in _leftovers(tmp_path)
    assert not [name for name in _leftovers(tmp_path) if name.endswith(".part")]


def test_truncated_transfer_leaves_no_partial_file(server, fakes, tmp_path):
    files, _ = fakes
    server.truncate.add("train-images-idx3-ubyte.gz")
    table = {name: (None, None) for name in files}  # even without a checksum to compare
    with pytest.raises(DataError, match="transfer was cut") as err:
        mnist.download_mnist(server.url, tmp_path, None, timeout=5, files=table)
    assert str(tmp_path) in str(err.value)
    left = _leftovers(tmp_path)
    assert "train-images-idx3-ubyte.gz" not in left
    assert not [name for name in left if name.endswith(".part")]


def test_server_down_gives_a_clear_message(tmp_path):
    url = closed_port_url()
    with pytest.raises(DataError) as err:
        mnist.download_mnist(url, tmp_path / "mnist", None, timeout=5)
    text = str(err.value)
    assert "no connection" in text and url in text
    assert str(tmp_path / "mnist") in text
    for name in mnist.MNIST_FILES:
        assert name in text
    assert _leftovers(tmp_path / "mnist") == []


def test_not_found(server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        mnist.download_mnist(
            server.url, tmp_path, None, timeout=5, files={"nothing-here.gz": (None, None)}
        )


def test_timeout(server, fakes, tmp_path):
    server.delay = 1.0
    start = time.perf_counter()
    with pytest.raises(DataError, match="timed out"):
        mnist.download_mnist(
            server.url, tmp_path, None, timeout=0.2, files=checksum_table(fakes[0])
        )
    assert time.perf_counter() - start < 1.0
    assert _leftovers(tmp_path) == []


def test_only_http_addresses(tmp_path):
    with pytest.raises(DataError, match="http"):
        mnist.download_mnist("file:///etc/", tmp_path, None)


def test_load_dataset_downloads_then_uses_the_cache(server, fakes, tmp_path, monkeypatch):
    files, _ = fakes
    monkeypatch.setattr(mnist, "MNIST_FILES", checksum_table(files))
    monkeypatch.setenv(mnist.ENV_DATA_DIR, str(tmp_path))
    monkeypatch.setenv(mnist.ENV_MNIST_URL, server.url)
    calls = []
    ds = load_dataset(
        DataConfig(dataset="mnist", mnist_subset=1_000), progress=lambda f, text: calls.append(f)
    )
    assert calls and calls[-1] == 1.0
    assert len(ds.y_train) + len(ds.y_test) == 50  # all the fake images
    assert any("Only 50 MNIST images" in note for note in ds.notes)
    n_requests = len(server.requests)
    load_dataset(DataConfig(dataset="mnist", mnist_subset=1_000))
    assert len(server.requests) == n_requests  # every file is in the cache: nothing to fetch
