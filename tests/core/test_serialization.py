"""Model files: round trip, refusal of anything that is not plain numeric data, transfer."""

import io
import pickle
import zipfile

import numpy as np
import pytest

from core.config import LayerConfig, NetworkConfig, PlaygroundConfig
from core.network import Network
from core.serialization import (
    ModelFileError,
    TransferError,
    load_model,
    save_model,
    transfer_state,
)


def make(hidden=(8, 8), n_in=2, n_out=1, seed=0, batch_norm=False):
    cfg = PlaygroundConfig()
    cfg.network = NetworkConfig(
        hidden=[LayerConfig(units=u, batch_norm=batch_norm) for u in hidden]
    )
    return cfg, Network(cfg.network, n_in, n_out, seed=seed)


def saved_bytes(cfg, net) -> bytes:
    buf = io.BytesIO()
    save_model(buf, net, cfg)
    return buf.getvalue()


def rewrite(data: bytes, drop=(), add=None, replace=None) -> bytes:
    """The same npz with members dropped, added or replaced (np.savez of plain arrays)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in drop}
    arrays.update(add or {})
    arrays.update(replace or {})
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_round_trip_through_a_file(tmp_path):
    cfg, net = make(batch_norm=True)
    cfg.training.optimizer.learning_rate = 0.123
    net.params["0.W"] += 1.5  # not the seed's initial values
    path = tmp_path / "model.npz"
    save_model(path, net, cfg)
    state, cfg2 = load_model(path)
    assert cfg2 == cfg
    assert set(state) == set(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(state[k], v)
        assert state[k].dtype == v.dtype
    fresh = Network(cfg2.network, 2, 1, seed=99)
    fresh.load_state_dict(state)
    X = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(fresh.predict(X), net.predict(X))


def test_pickle_disguised_as_npz_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError, match="not a Backprop Playground model file"):
        load_model(path)
    assert not marker.exists()


def test_object_arrays_inside_the_npz_are_refused(tmp_path):
    cfg, net = make()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = saved_bytes(cfg, net)
    with np.load(io.BytesIO(data)) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state/0.W"] = np.array([Evil()], dtype=object)
    out = io.BytesIO()
    np.savez(out, **arrays)  # np.savez pickles object arrays
    with pytest.raises(ModelFileError, match="object"):
        load_model(out.getvalue())
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": ["state/1.W"]}, "missing"),
        ({"add": {"state/9.W": np.zeros((2, 2))}}, "unexpected"),
        ({"add": {"surprise": np.zeros(1)}}, "unexpected entries"),
        ({"replace": {"state/0.W": np.zeros((3, 8))}}, "shape"),
        ({"replace": {"state/0.b": np.zeros(8, dtype=np.int64)}}, "non-float"),
        ({"replace": {"state/0.b": np.full(8, np.nan)}}, "NaN"),
        ({"drop": ["__config__"]}, "no __config__"),
        ({"replace": {"__config__": np.frombuffer(b"{not json", np.uint8)}}, "invalid config"),
        ({"replace": {"__format__": np.frombuffer(b"other/9", np.uint8)}}, "format"),
    ],
)
def test_damaged_files_are_clear_errors(change, message):
    cfg, net = make()
    with pytest.raises(ModelFileError, match=message):
        load_model(rewrite(saved_bytes(cfg, net), **change))


def test_garbage_and_broken_zips_are_clear_errors():
    cfg, net = make()
    data = saved_bytes(cfg, net)
    for bad in (b"", b"hello world", data[: len(data) // 2]):
        with pytest.raises(ModelFileError):
            load_model(bad)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("notes.txt", "hi")
    with pytest.raises(ModelFileError, match="not arrays"):
        load_model(out.getvalue())


def test_transfer_copies_what_fits_and_reports_the_rest():
    src_cfg, src = make(hidden=(8, 8), seed=1)
    _, dst = make(hidden=(8, 4), seed=2)
    before = {k: v.copy() for k, v in dst.params.items()}
    report = transfer_state(src.state_dict(), dst)
    assert sorted(report["copied"]) == ["0.W", "0.b", "2.b"]
    assert {s.split()[0] for s in report["skipped"]} == {"1.W", "1.b", "2.W"}
    np.testing.assert_array_equal(dst.params["0.W"], src.params["0.W"])
    np.testing.assert_array_equal(dst.params["1.W"], before["1.W"])
    np.testing.assert_array_equal(dst.params["2.W"], before["2.W"])


def test_transfer_refuses_different_inputs_or_nothing_in_common():
    _, src = make(n_in=3)
    _, dst = make(n_in=2)
    with pytest.raises(TransferError, match="takes 3 inputs but this network takes 2"):
        transfer_state(src.state_dict(), dst)
    with pytest.raises(TransferError, match="nothing in the saved model fits"):
        transfer_state({"7.W": np.zeros((2, 2))}, dst)
