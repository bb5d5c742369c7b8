"""Translator version: part of every generated file's header and of cache keys."""

__version__ = "0.1.0"
