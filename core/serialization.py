"""Save and load a trained network as one `.npz` file, without pickle.

Layout (all plain numeric arrays, so `np.load(..., allow_pickle=False)` reads it):
    "__format__"   uint8 bytes of FORMAT_TAG
    "__config__"   uint8 bytes of the PlaygroundConfig JSON
    "__meta__"     uint8 bytes of {"n_inputs", "n_outputs", "keys", "step", "epoch"} as JSON
                   (files written before the step count was saved have no "step"/"epoch")
    "state/<key>"  one array per entry of Network.state_dict() (params and buffers)

Loading checks, before anything is used: the bytes are a zip archive (so a pickle renamed to
.npz is refused without being parsed), no member holds an object array, the declared sizes are
bounded, the config is valid, and the keys, shapes and dtypes are exactly those the config's
network expects. Any failure is a `ModelFileError` with a message for the user.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from core.config import ConfigError, PlaygroundConfig

FORMAT_TAG = "backprop-playground-model/1"
MAX_FILE_BYTES = 64 * 1024 * 1024  # uncompressed; a MAX_PARAMETERS float64 net is ~8 MB
_SPECIAL = ("__format__", "__config__", "__meta__")
_PREFIX = "state/"
MAX_STEP = 2**53  # a step or epoch count beyond this is damage, not training
# What each parameter or buffer of a block is, for the transfer report.
_PART_NAMES = {
    "W": "weights",
    "b": "biases",
    "gamma": "batch norm",
    "beta": "batch norm",
    "running_mean": "batch norm",
    "running_var": "batch norm",
    "alpha": "PReLU slopes",
}


@dataclass(frozen=True)
class SavedModel:
    """What a model file holds. `step`/`epoch`: the training progress when it was saved (None in
    files written before it was recorded)."""

    state: dict[str, np.ndarray]
    config: PlaygroundConfig
    step: int | None = None
    epoch: int | None = None


class ModelFileError(ValueError):
    """A model file that cannot be used, phrased for the user."""


class TransferError(ValueError):
    """A saved state that cannot seed this network (nothing fits, or the inputs differ)."""


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _array_text(arr: np.ndarray) -> str:
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ModelFileError("the model file is damaged: a text field is not stored as bytes")
    try:
        return arr.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError("the model file is damaged: a text field is not UTF-8") from None


def save_model(
    path_or_file: str | os.PathLike | BinaryIO,
    network,
    config: PlaygroundConfig,
    step: int = 0,
    epoch: int = 0,
):
    """Write the network state, its config and how far it trained (steps, epochs) to one .npz
    file (path or binary file object)."""
    state = network.state_dict()
    meta = {
        "n_inputs": network.n_inputs,
        "n_outputs": network.n_outputs,
        "keys": list(state),
        "step": int(step),
        "epoch": int(epoch),
    }
    arrays: dict[str, np.ndarray] = {
        "__format__": _text_array(FORMAT_TAG),
        "__config__": _text_array(config.to_json()),
        "__meta__": _text_array(json.dumps(meta)),
    }
    for key, value in state.items():
        arrays[_PREFIX + key] = np.ascontiguousarray(value)
    np.savez(path_or_file, **arrays)


def _read_bytes(path_or_file: Any) -> bytes:
    if isinstance(path_or_file, bytes | bytearray):
        return bytes(path_or_file)
    if hasattr(path_or_file, "read"):
        return path_or_file.read()
    with open(path_or_file, "rb") as fh:
        return fh.read()


def _open_archive(data: bytes) -> dict[str, np.ndarray]:
    """All members of a zip of .npy files, refusing anything that is not plain numeric data."""
    if not data.startswith(b"PK\x03\x04"):
        raise ModelFileError("this is not a Backprop Playground model file (.npz, a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if sum(i.file_size for i in infos) > MAX_FILE_BYTES:
                raise ModelFileError(f"the model file is larger than {MAX_FILE_BYTES >> 20} MB")
            if not all(i.filename.endswith(".npy") for i in infos):
                raise ModelFileError("the model file holds members that are not arrays")
    except zipfile.BadZipFile:
        raise ModelFileError("the model file is damaged: not a readable zip archive") from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "pickle" in str(err) or "object" in str(err).lower():
            raise ModelFileError(
                "the model file contains object (pickled) arrays, which are never loaded"
            ) from None
        raise ModelFileError(f"the model file is damaged: {err}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(f"the model file is damaged: {err}") from None


def load_model(path_or_file: Any) -> SavedModel:
    """Read a file written by `save_model`. Raises ModelFileError."""
    arrays = _open_archive(_read_bytes(path_or_file))
    for name in _SPECIAL:
        if name not in arrays:
            raise ModelFileError(f"this is not a Backprop Playground model file (no {name})")
    if _array_text(arrays["__format__"]) != FORMAT_TAG:
        raise ModelFileError(f"unsupported model file format (expected {FORMAT_TAG})")
    try:
        config = PlaygroundConfig.from_json(_array_text(arrays["__config__"]))
        meta = json.loads(_array_text(arrays["__meta__"]))
        n_inputs, n_outputs = int(meta["n_inputs"]), int(meta["n_outputs"])
        step, epoch = _count(meta, "step"), _count(meta, "epoch")
    except ConfigError as err:
        raise ModelFileError(f"the model file has an invalid config: {err}") from None
    except (ValueError, KeyError, TypeError):
        raise ModelFileError("the model file is damaged: unreadable metadata") from None
    state = {k[len(_PREFIX) :]: v for k, v in arrays.items() if k.startswith(_PREFIX)}
    extra = sorted(k for k in arrays if k not in _SPECIAL and not k.startswith(_PREFIX))
    if extra:
        raise ModelFileError(f"the model file has unexpected entries: {extra[:5]}")
    _check_state(state, config, n_inputs, n_outputs)
    return SavedModel(state, config, step, epoch)


def _count(meta: dict, name: str) -> int | None:
    """A whole count 0 <= n < MAX_STEP from the metadata; None if absent (an older file)."""
    if name not in meta:
        return None
    value = meta[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_STEP:
        raise ValueError(f"bad {name}")
    return value


def _check_state(state: dict, config: PlaygroundConfig, n_inputs: int, n_outputs: int) -> None:
    """Keys, shapes and dtypes must be exactly those of the network the config describes."""
    from core.network import Network  # deferred: the network module is the heavier import

    if not (1 <= n_inputs <= 100_000 and 1 <= n_outputs <= 1_000):
        raise ModelFileError(f"the model file has implausible sizes {n_inputs} -> {n_outputs}")
    try:
        expected = Network(config.network, n_inputs, n_outputs).state_dict()
    except ConfigError as err:
        raise ModelFileError(f"the model file describes an invalid network: {err}") from None
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"the model file does not match its own config: missing {missing[:5]}, "
            f"unexpected {extra[:5]}"
        )
    for key, ref in expected.items():
        arr = state[key]
        if arr.shape != ref.shape:
            raise ModelFileError(
                f"the model file does not match its config: {key} has shape {arr.shape}, "
                f"expected {ref.shape}"
            )
        if arr.dtype.kind != "f":
            raise ModelFileError(f"the model file holds non-float data in {key} ({arr.dtype})")
        if not np.isfinite(arr).all():
            raise ModelFileError(f"the model file holds NaN or infinite values in {key}")


def transfer_state(state: dict[str, np.ndarray], network) -> dict[str, list[str]]:
    """Seed `network` with every array of `state` whose key and shape match; keep the rest.

    Returns {"copied": keys, "skipped": keys of `state` not copied with the reason, "layers": one
    line per layer in `network`'s names saying what was copied and what starts fresh and why}.
    Raises TransferError if the input layers differ or nothing matches.
    """
    target = network.state_dict()
    first = network.blocks[0].weight_key
    if first in state and state[first].shape[0] != target[first].shape[0]:
        raise TransferError(
            f"the saved model takes {state[first].shape[0]} inputs but this network takes "
            f"{target[first].shape[0]}: choose the same dataset and features"
        )
    merged = {k: np.array(v, copy=True) for k, v in target.items()}
    copied, skipped = [], []
    for key, arr in state.items():
        if key not in target:
            skipped.append(f"{key} (no such parameter here)")
        elif arr.shape != target[key].shape:
            skipped.append(f"{key} (shape {arr.shape} vs {target[key].shape})")
        else:
            merged[key] = arr.astype(target[key].dtype, copy=True)
            copied.append(key)
    if not copied:
        raise TransferError(
            "nothing in the saved model fits this network: no parameter has the same name and shape"
        )
    network.load_state_dict(merged)
    return {"copied": copied, "skipped": skipped, "layers": _layer_report(state, network, copied)}


def _block_of(key: str) -> int | None:
    """The block index of a state key "<block>.<name>" (None if it has no such prefix)."""
    head = key.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _file_layer_names(state: dict[str, np.ndarray]) -> dict[int, str]:
    """The saved network's layer names: its last block is the output layer."""
    blocks = sorted({b for b in map(_block_of, state) if b is not None})
    return {b: "output layer" if b == blocks[-1] else f"hidden {b + 1}" for b in blocks}


def _parts(keys: list[str]) -> str:
    """'weights and biases', 'weights, biases and batch norm', ... for the keys of one block."""
    names = list(dict.fromkeys(_PART_NAMES.get(k.split(".", 1)[1], k) for k in keys))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _units(n: int) -> str:
    return f"{n} unit{'s' if n != 1 else ''}"


def _why_fresh(key: str, here: np.ndarray, state: dict[str, np.ndarray], source: str) -> str:
    """Why the array `key` of this network was not copied from the file."""
    if key not in state:
        return "not in the file"
    there = state[key].shape
    if key.endswith(".W"):
        return (
            f"{here.shape[0]} inputs x {_units(here.shape[1])} here, {there[0]} x {there[1]} in "
            f"the file (the file's {source})"
        )
    return f"shape {here.shape} here, {there} in the file (the file's {source})"


def _layer_line(block, target, state, copied: set[str], file_names: dict[int, str]) -> str:
    source = file_names.get(block.index)
    if source is None:
        hidden = len(file_names) - 1
        return (
            f"{block.name}: starts fresh: the file has no layer at this depth (it has "
            f"{hidden} hidden layer{'s' if hidden != 1 else ''} and an output layer)"
        )
    keys = [k for k in target if _block_of(k) == block.index]
    got = [k for k in keys if k in copied]
    fresh = [k for k in keys if k not in copied]
    unused = [k for k in state if _block_of(k) == block.index and k not in target]
    why = _why_fresh(fresh[0], target[fresh[0]], state, source) if fresh else ""
    if not got:
        return f"{block.name}: starts fresh: {why}"
    ours = "output layer" if block.name == "output" else block.name
    line = f"{block.name}: copied ({_parts(got)})"
    line += f" from the file's {source}" if source != ours else ""
    if fresh:
        parts = _parts(fresh)
        line += f"; its {parts} start{'s' if parts == 'batch norm' else ''} fresh: {why}"
    return line + (f"; the file's {_parts(unused)} is not used (none here)" if unused else "")


def _layer_report(state: dict[str, np.ndarray], network, copied: list[str]) -> list[str]:
    """Per layer of `network`, in its own names, what came from the file; then unused layers."""
    target, file_names = network.state_dict(), _file_layer_names(state)
    lines = [_layer_line(b, target, state, set(copied), file_names) for b in network.blocks]
    here = {b.index for b in network.blocks}
    lines += [
        f"the file's {name}: not used (this network has no layer {index + 1})"
        for index, name in file_names.items()
        if index not in here
    ]
    return lines
