"""Indexing photo collections into a face database: in process (pipeline.py) or on Ray Data (ray_index.py)."""

from .images import ImageReadError, list_images, load_image, read_image
from .pipeline import IndexReport, index_folder

__all__ = ["ImageReadError", "IndexReport", "index_folder", "list_images", "load_image", "read_image"]
