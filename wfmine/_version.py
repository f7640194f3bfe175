"""The release of wfmine, in one place: the package metadata (``pyproject.toml`` reads it),
``wfmine.__version__``, the store's input keys and the lake's manifest."""

__version__ = "0.1.0"
