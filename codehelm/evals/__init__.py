"""Offline evaluation suite: task families with seeded generators and exact checkers.

See `codehelm.evals.tasks` for the item types, the family registry and `generate_items`.
"""
