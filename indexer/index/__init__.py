"""Indexing: embed previews, build FAISS index versions, add, verify, activate and prune them."""
