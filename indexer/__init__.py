"""Offline indexer: harvest and import the archive, embed previews, build FAISS indexes."""
