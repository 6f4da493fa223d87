"""Harvest and import: the STScI abstracts catalog, MAST previews, manifests, the ingest ledger."""
