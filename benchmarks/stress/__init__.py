"""Hardening drivers: adversarial corpus, load, faults and security checks against a live service.

``python -m benchmarks.stress.run --full`` runs everything at full size and rewrites
docs/reliability.md; tests/hardening runs the same code at a size that fits CI.
"""
