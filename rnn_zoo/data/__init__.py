"""Data plumbing shared by the task families: where files live, file formats, tf.data."""
from .pipeline import TaskData, make_dataset
from .sources import RemoteFile, cache_dir, find_file, search_dirs

__all__ = ["TaskData", "make_dataset", "RemoteFile", "cache_dir", "find_file", "search_dirs"]
