"""The package version (importable without Keras)."""

__version__ = "0.1.0"
