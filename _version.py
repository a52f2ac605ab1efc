"""The package version (one place; manifests, design hashes and reports record it)."""

__version__ = "0.1.0"
