"""A user's CSV: checked, parsed by pandas' C parser (nothing is evaluated or unpickled), the
target column picked, the task inferred (or overridden), text features one-hot encoded.

Every problem raises DataError with a message naming it (and the column), never a traceback.
Decisions: the delimiter is sniffed among , ; tab | (a note says which one was used); line
endings may be \n, \r\n or a bare \r; numbers with decimal commas in ;/tab files are read as
numbers; rows with missing or infinite values (features or target) are dropped with a note
unless more than half the rows have them; regression targets are standardized on the training
split (a note gives the mean and std to map predictions back).

Hostile files: every record's width is counted with linear-time regular expressions before
pandas parses (pandas takes quadratic time on a line of many duplicated names), and duplicated
column names are refused, so any file under the byte cap is accepted or refused quickly.
Memory: rows x inputs (after one-hot encoding) is limited to MAX_CSV_INPUT_VALUES before the
float64 input matrix is built, and that matrix is built once, already in split order, and
scaled in place (core/data/preprocess.py); the scaling cannot overflow, even near 1.8e308.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

import numpy as np
import pandas as pd

from core.config import (
    MAX_CSV_BYTES,
    MAX_CSV_COLUMNS,
    MAX_CSV_INPUT_VALUES,
    MAX_CSV_ROWS,
    TASKS,
)
from core.data.dataset import DataError, Dataset
from core.data.preprocess import build_dataset

MAX_CATEGORIES = 20  # distinct text values one-hot encoded per column
MAX_FEATURES = 500  # network inputs after one-hot encoding
MAX_CLASSES = 50
MAX_INFERRED_CLASSES = 10  # whole-number targets with at most this many values: classification
MAX_MISSING_FRACTION = 0.5
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}

_SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or a NumPy .npz file, for example)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls or other Office file"),
)
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*$|^\s*[+-]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d++(\.\d*+)?|\.\d++)([eE][+-]?\d++)?\s*$")  # linear time
_LINE_BREAK = re.compile(r"\r\n?")


@dataclass(frozen=True)
class ParsedCSV:
    frame: pd.DataFrame  # shared by the cache: never modify it in place
    notes: tuple[str, ...]


# --- bytes -> text -> table -------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, list[str]]:
    """Refuse binary files by their signature or by control bytes; UTF-8 (BOM ok), UTF-16 with
    a BOM, else Latin-1 with a note. Line endings \r\n and bare \r become \n."""
    if len(data) > MAX_CSV_BYTES:
        raise DataError(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {MAX_CSV_BYTES / 1e6:.0f} MB."
            f" Upload a smaller sample (at most {MAX_CSV_ROWS:,} rows)."
        )
    if not data.strip():
        raise DataError("The file is empty.")
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise DataError(
                f"This is not a CSV file: it looks like {what}. Export the table as "
                "CSV (comma-separated text) and upload that."
            )
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise DataError(
            "This is not a CSV file: it looks like a Python pickle, which is never "
            "opened for safety. Upload the table as CSV text."
        )
    notes: list[str] = []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("The file starts like UTF-16 text but is not valid UTF-16.") from None
    elif b"\x00" in data:
        raise DataError(
            "This is not a CSV file: it contains binary data (NUL bytes). Upload "
            "the table as CSV text."
        )
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            notes.append("The file is not UTF-8; it was read as Latin-1.")
    sample = text[:65536]
    control = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if control > 0.01 * len(sample):
        raise DataError(
            "This is not a CSV file: it contains binary data (control characters). "
            "Upload the table as CSV text."
        )
    return _LINE_BREAK.sub("\n", text), notes


def _sniff_delimiter(text: str) -> str:
    """The first of , ; tab | that splits the header into 2+ fields and the first rows into
    as many; else the one giving the header the most fields; one column is refused."""
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    header_fields = {}
    for delimiter in DELIMITERS:
        try:
            rows = [
                r for r in islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 50) if r
            ]
        except csv.Error:
            rows = []
        widths = {len(row) for row in rows}
        if rows and len(rows[0]) >= 2 and widths == {len(rows[0])}:
            return delimiter
        header_fields[delimiter] = len(rows[0]) if rows else 0
    best = max(DELIMITERS, key=lambda d: header_fields[d])
    if header_fields[best] >= 2:
        return best
    raise DataError(
        "Only one column found: the file needs feature columns and a target column separated "
        "by commas (semicolons, tabs and | are recognised too; spaces are not)."
    )


def _check_width(text: str, delimiter: str) -> None:
    """Refuse any line with more than MAX_CSV_COLUMNS fields, in linear time and memory.

    Fields of a line = its delimiters outside quoted fields + 1: quoted fields (a quote at the
    start of a field, "" inside) are removed first, so their delimiters and line breaks do not
    count."""
    d = re.escape(delimiter)
    field_start = rf"(?<![^{d}\n])"  # at the start of a line or after a delimiter
    quoted = rf'{field_start} *"[^"]*+(?:""[^"]*+)*+"'
    unquoted = re.sub(quoted, "", text) if '"' in text else text
    wide = re.search(rf"(?m)^(?:[^{d}\n]*+{d}){{{MAX_CSV_COLUMNS}}}", unquoted)
    if wide is None:
        return
    end = unquoted.find("\n", wide.start())
    fields = unquoted.count(delimiter, wide.start(), None if end < 0 else end) + 1
    line = unquoted.count("\n", 0, wide.start()) + 1
    if line == 1:
        raise DataError(f"The file has {fields:,} columns; the limit is {MAX_CSV_COLUMNS}.")
    raise DataError(
        f"Line {line:,} has {fields:,} fields; the limit is {MAX_CSV_COLUMNS} columns. Every "
        "row needs the same number of fields as the header."
    )


def _first_row(text: str, delimiter: str) -> list[str]:
    """The first row's fields as pandas reads them (spaces after a delimiter skipped)."""
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
        return next(filter(None, reader), [])  # blank lines skipped, as pandas does
    except csv.Error as err:
        raise DataError(f"The first line could not be read: {err}.") from None


def _refuse_duplicates(names: list[str]) -> None:
    """Duplicated column names make the target ambiguous (pandas would rename them a, a.1)."""
    repeated = [(name, n) for name, n in Counter(names).items() if n > 1 and name]
    if repeated:
        shown = ", ".join(f"{name!r} ({n} times)" for name, n in repeated[:10])
        more = f" and {len(repeated) - 10} more" if len(repeated) > 10 else ""
        raise DataError(
            f"Each column needs its own name; these appear more than once: {shown}{more}. "
            "Rename them and upload the file again."
        )


def _decimal_commas(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns whose every value looks like 1,5 or -3 become numbers (1.5, -3)."""
    fixed = []
    for col in [c for c in frame.columns if not _is_numeric(frame[c])]:
        values = frame[col].dropna().astype(str)
        if len(values) and values.str.match(_DECIMAL_COMMA).all():
            numbers = pd.to_numeric(values.str.replace(",", ".", regex=False))
            frame = frame.assign(**{col: numbers.reindex(frame.index)})
            fixed.append(col)
    notes = [f"Decimal commas read as numbers in: {', '.join(map(repr, fixed))}."] if fixed else []
    return frame, notes


def _read_frame(text: str, delimiter: str, header: int | None) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            engine="c",
            header=header,
            nrows=MAX_CSV_ROWS + 1,
            low_memory=False,
            skipinitialspace=True,
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError:
        raise DataError("The file is empty.") from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1].replace("C error: ", "")
        raise DataError(
            f"The file could not be read as a table: {detail}. Every row needs "
            "the same number of fields as the header."
        ) from None
    except (ValueError, UnicodeError, OverflowError) as err:
        raise DataError(f"The file could not be read as a table: {err}.") from None


@lru_cache(maxsize=4)
def parse_csv(data: bytes) -> ParsedCSV:
    """Bytes -> checked DataFrame (cached per content, as the UI asks several times)."""
    text, notes = _decode(data)
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"Columns are separated by a {_DELIMITER_NAMES[delimiter]}.")
    _check_width(text, delimiter)
    names = _first_row(text, delimiter)
    if all(_NUMBER.match(name) for name in names):
        frame = _read_frame(text, delimiter, header=None)
        frame.columns = [f"column {i + 1}" for i in range(frame.shape[1])]
        notes.append(
            "The first row holds numbers, so it was read as data; columns are named "
            "'column 1', 'column 2', ..."
        )
    else:
        _refuse_duplicates(names)
        frame = _read_frame(text, delimiter, header=0)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) > MAX_CSV_ROWS:
        raise DataError(
            f"The file has more than {MAX_CSV_ROWS:,} data rows; the limit is "
            f"{MAX_CSV_ROWS:,}. Upload a sample."
        )
    if frame.empty:
        raise DataError("The file has a header line but no data rows.")
    if delimiter != ",":
        frame, fixed = _decimal_commas(frame)
        notes += fixed
    return ParsedCSV(frame, tuple(notes))


def csv_columns(csv_bytes: bytes) -> list[str]:
    """Column names (plain strings, never markup) for the target picker; validates the file."""
    return list(parse_csv(bytes(csv_bytes)).frame.columns)


# --- target and task --------------------------------------------------------------------------


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def _unusable(values: pd.Series) -> np.ndarray:
    """Per row: the value is missing, or it is a number and not finite (+-inf)."""
    if _is_numeric(values):
        return ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return values.isna().to_numpy()


def infer_task_of(values: pd.Series) -> str:
    """Text or bool -> classification; numbers -> classification when all are whole and there
    are at most 10 distinct values (and at most half as many as rows), else regression.
    Classification is binary for exactly 2 distinct values, else multiclass. Missing and
    infinite values are left out (load_csv drops their rows)."""
    values = values[~_unusable(values)]
    distinct = values.nunique()
    if _is_numeric(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        whole = np.all(numbers == np.round(numbers))
        few = distinct <= MAX_INFERRED_CLASSES and (distinct <= 2 or distinct <= len(values) // 2)
        if not (whole and few):
            return "regression"
    return "binary" if distinct == 2 else "multiclass"


def _find_target(frame: pd.DataFrame, target: str) -> tuple[str, list[str]]:
    if not target:
        last = frame.columns[-1]
        return last, [f"No target column chosen: using the last column, {last!r}."]
    if target in frame.columns:
        return target, []
    stripped = [c for c in frame.columns if c.strip() == target.strip()]
    if stripped:
        return stripped[0], []
    shown = ", ".join(repr(c) for c in frame.columns[:20])
    more = f" and {len(frame.columns) - 20} more" if len(frame.columns) > 20 else ""
    raise DataError(f"Target column {target!r} not found. The columns are: {shown}{more}.")


def infer_task(csv_bytes: bytes, target: str) -> str:
    """The task the playground would pick for this target column ("binary", "multiclass" or
    "regression"), to preselect the override control."""
    frame = parse_csv(bytes(csv_bytes)).frame
    column, _ = _find_target(frame, target)
    return infer_task_of(frame[column])


def _class_name(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _encode_target(values: pd.Series, column: str, task: str) -> tuple[np.ndarray, list[str]]:
    """Regression: float64. Classification: codes into the sorted distinct values."""
    if task == "regression":
        if not _is_numeric(values):
            example = values.dropna().astype(str).iloc[0]
            raise DataError(
                f"Target {column!r} holds text (such as {example!r}), so it cannot be "
                "a regression target. Choose classification or a numeric column."
            )
        y = values.to_numpy(dtype=np.float64)
        if y.min() == y.max():  # not np.ptp: max - min overflows for +-1e308
            raise DataError(
                f"Target {column!r} is the same ({_class_name(y[0])}) in every row: "
                "nothing to learn."
            )
        return y, []
    classes = np.unique(values.to_numpy() if _is_numeric(values) else values.astype(str))
    names = [_class_name(c) for c in classes]
    if len(classes) < 2:
        raise DataError(
            f"Target {column!r} has a single class ({names[0]!r}): a classifier needs at least two."
        )
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"Target {column!r} has {len(classes)} classes; binary classification "
            "needs exactly 2. Choose multiclass."
        )
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"Target {column!r} has {len(classes)} distinct values; classification "
            f"supports at most {MAX_CLASSES} classes. Choose regression?"
        )
    source = values.to_numpy() if _is_numeric(values) else values.astype(str).to_numpy()
    return np.searchsorted(classes, source).astype(np.int64), names


# --- features -----------------------------------------------------------------------------------


Encoding = list[str] | None  # a text column's one-hot values; None: a numeric column as it is


def _feature_columns(frame: pd.DataFrame) -> tuple[dict[str, Encoding], list[str]]:
    """The input columns and how each is encoded: numeric and bool columns as they are, text
    columns with at most MAX_CATEGORIES distinct values one-hot (their sorted values); others
    are refused with a note. The number of inputs is checked before any is built."""
    encodings: dict[str, Encoding] = {}
    refused = []
    for col in frame.columns:
        values = frame[col]
        if values.isna().all():
            refused.append(f"{col!r} is empty")
        elif _is_numeric(values):
            encodings[col] = None
        else:
            categories = sorted(values.dropna().astype(str).unique())
            if len(categories) <= MAX_CATEGORIES:
                encodings[col] = categories
            else:
                refused.append(
                    f"{col!r} has {len(categories)} different text values (at most "
                    f"{MAX_CATEGORIES} are one-hot encoded)"
                )
    if not encodings:
        reasons = "; ".join(refused) or "there are no other columns"
        raise DataError(f"No usable feature columns: {reasons}.")
    width = len(_input_names(encodings))
    if width > MAX_FEATURES:
        raise DataError(
            f"One-hot encoding gives {width} inputs; the limit is {MAX_FEATURES}. Remove some "
            "text columns."
        )
    notes = [f"Columns not used: {'; '.join(refused)}."] if refused else []
    return encodings, notes


def _input_names(encodings: dict[str, Encoding]) -> list[str]:
    """A numeric column keeps its name; a text column gives one input per value: 'column=value'."""
    return [
        name
        for col, categories in encodings.items()
        for name in ([col] if categories is None else [f"{col}={c}" for c in categories])
    ]


def _encode_column(values: pd.Series, categories: Encoding) -> np.ndarray:
    """(rows, 1) floats for a numeric column; (rows, values) one-hot 0/1 for a text column."""
    if categories is None:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)[:, None]
    codes = pd.Categorical(values.astype(str).where(values.notna()), categories=categories).codes
    onehot = (codes[:, None] == np.arange(len(categories))).astype(np.float64)
    onehot[codes < 0] = np.nan
    return onehot


def _check_size(n_rows: int, n_inputs: int) -> None:
    """Refuse more than MAX_CSV_INPUT_VALUES network input values (rows x inputs), before the
    float64 input matrix (8 bytes a value) is built."""
    if n_rows * n_inputs > MAX_CSV_INPUT_VALUES:
        raise DataError(
            f"{n_rows:,} rows x {n_inputs:,} inputs (after one-hot encoding) = "
            f"{n_rows * n_inputs:,} values; the limit is {MAX_CSV_INPUT_VALUES:,}. Use fewer "
            f"columns or rows (at most {MAX_CSV_INPUT_VALUES // n_inputs:,} rows with "
            f"{n_inputs:,} inputs), or text columns with fewer distinct values."
        )


def _encode_features(
    frame: pd.DataFrame, encodings: dict[str, Encoding], rows: np.ndarray
) -> np.ndarray:
    """The float64 input matrix of the given rows (positions in `frame`, in that order),
    filled column block by column block (no temporary copy of the frame or the matrix)."""
    X = np.empty((len(rows), len(_input_names(encodings))))
    start = 0
    for col, categories in encodings.items():
        block = _encode_column(frame[col].iloc[rows], categories)
        X[:, start : start + block.shape[1]] = block
        start += block.shape[1]
    return X


def _drop_unusable(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Mask of the rows to keep: none of the used columns (features and target) missing or
    infinite. Refused when more than MAX_MISSING_FRACTION of the rows would go."""
    bad = np.column_stack([_unusable(frame[col]) for col in frame.columns])
    rows = bad.any(axis=1)
    n_bad = int(rows.sum())
    if n_bad == 0:
        return ~rows, []
    missing = frame.isna().to_numpy()
    found = (("missing", missing.any()), ("infinite", (bad & ~missing).any()))
    per_column = bad.sum(axis=0)
    worst = int(per_column.argmax())
    what = (
        f"{' or '.join(kind for kind, present in found if present)} values (most in column "
        f"{frame.columns[worst]!r}: {per_column[worst]})"
    )
    if n_bad > MAX_MISSING_FRACTION * len(rows):
        raise DataError(
            f"{n_bad} of {len(rows)} rows have {what}. Fix them, or leave that column out of "
            "the file."
        )
    return ~rows, [f"Dropped {n_bad} of {len(rows)} rows with {what}."]


def load_csv(
    csv_bytes: bytes,
    target: str,
    *,
    task: str | None = None,
    name: str = "",
    train_fraction: float = 0.5,
    seed: int = 0,
    standardize: bool = True,
) -> Dataset:
    """A Dataset from an uploaded CSV: target column `target` ("" = the last column), task
    inferred unless given, features standardized on the training split if asked."""
    if not csv_bytes:
        raise DataError("The file is empty.")
    if task is not None and task not in TASKS:
        raise DataError(f"Unknown task {task!r}: choose one of {list(TASKS)}.")
    parsed = parse_csv(bytes(csv_bytes))
    frame, notes = parsed.frame, list(parsed.notes)
    column, picked = _find_target(frame, target)
    task = task or infer_task_of(frame[column])
    encodings, unused = _feature_columns(frame.drop(columns=[column]))
    keep, dropped = _drop_unusable(frame[[column, *encodings]])
    kept = np.flatnonzero(keep)
    names = _input_names(encodings)
    _check_size(len(kept), len(names))
    y, class_names = _encode_target(frame[column].iloc[kept], column, task)
    return build_dataset(
        name or "uploaded CSV",
        task,
        lambda order: _encode_features(frame, encodings, kept[order]),  # built in split order
        y,
        train_fraction=train_fraction,
        seed=seed,
        standardize=standardize,
        feature_names=names,
        class_names=class_names,
        notes=notes + picked + unused + dropped,
        scale_target=task == "regression",
    )
