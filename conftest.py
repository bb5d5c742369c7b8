"""Repository-root conftest: makes `tools` importable from tests."""
