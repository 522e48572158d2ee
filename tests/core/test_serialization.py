"""Model files: round trip, refusal of anything that is not plain numeric data, transfer."""

import io
import json
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
    saved = load_model(path)
    state, cfg2 = saved.state, saved.config
    assert cfg2 == cfg
    assert (saved.step, saved.epoch) == (0, 0)
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


def test_the_step_count_is_saved_and_older_files_without_it_still_load():
    cfg, net = make()
    buf = io.BytesIO()
    save_model(buf, net, cfg, step=1234, epoch=49)
    saved = load_model(buf.getvalue())
    assert (saved.step, saved.epoch) == (1234, 49)
    with np.load(io.BytesIO(buf.getvalue()), allow_pickle=False) as npz:
        meta = json.loads(npz["__meta__"].tobytes())
    for drop in ("step", "epoch"):
        del meta[drop]
    old = rewrite(buf.getvalue(), replace={"__meta__": _text(json.dumps(meta))})
    older = load_model(old)
    assert (older.step, older.epoch) == (None, None)
    np.testing.assert_array_equal(older.state["0.W"], net.params["0.W"])


@pytest.mark.parametrize("bad", [-1, 2.5, "12", True, 2**60])
def test_a_damaged_step_count_is_a_clear_error(bad):
    cfg, net = make()
    data = saved_bytes(cfg, net)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(npz["__meta__"].tobytes())
    meta["step"] = bad
    with pytest.raises(ModelFileError, match="metadata"):
        load_model(rewrite(data, replace={"__meta__": _text(json.dumps(meta))}))


def _text(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


def test_transfer_reports_per_layer_in_the_new_networks_names():
    """The file's output layer (2 x 1) meets hidden 3 (2 x 2) of a deeper network: the report
    names the new network's layers and says why each one starts fresh."""
    _, src = make(hidden=(4, 2), seed=1)
    _, dst = make(hidden=(4, 2, 2), seed=2)
    layers = transfer_state(src.state_dict(), dst)["layers"]
    assert layers == [
        "hidden 1: copied (weights and biases)",
        "hidden 2: copied (weights and biases)",
        "hidden 3: starts fresh: 2 inputs x 2 units here, 2 x 1 in the file "
        "(the file's output layer)",
        "output: starts fresh: the file has no layer at this depth (it has 2 hidden layers "
        "and an output layer)",
    ]


def test_transfer_report_names_partial_copies_and_unused_file_layers():
    _, src = make(hidden=(8, 8, 8), seed=1, batch_norm=True)
    _, dst = make(hidden=(8, 4), seed=2)
    layers = transfer_state(src.state_dict(), dst)["layers"]
    assert layers[0] == (
        "hidden 1: copied (weights and biases); the file's batch norm is not used (none here)"
    )
    assert layers[1].startswith("hidden 2: starts fresh: 8 inputs x 4 units here, 8 x 8 in")
    assert layers[2] == (
        "output: starts fresh: 4 inputs x 1 unit here, 8 x 8 in the file (the file's hidden 3)"
    )
    assert layers[-1] == "the file's output layer: not used (this network has no layer 4)"
