"""Data plumbing shared by the task families: where files live, file formats, tf.data."""

from ..preprocessing import Preprocessor, Serving
from .pipeline import make_dataset
from .sources import RemoteFile, cache_dir, find_file, search_dirs
from .taskdata import ClassificationData, RegressionData, TaskData

__all__ = [
    "TaskData",
    "Preprocessor",
    "ClassificationData",
    "RegressionData",
    "Serving",
    "make_dataset",
    "RemoteFile",
    "cache_dir",
    "find_file",
    "search_dirs",
]
