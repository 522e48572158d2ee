"""Every dataset the playground offers, as NumPy arrays with a train/test split."""

from core.data.dataset import DataError, Dataset

__all__ = ["DataError", "Dataset"]
