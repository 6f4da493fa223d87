"""PAPERCLIP core: what the app, the indexer and the training layers share.

Settings, the database schema and session, storage paths, image decoding and the
model loader live here so that every layer reads the same data the same way.
"""

__version__ = "0.1.0"
