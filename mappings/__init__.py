"""This folder is also the package ``baton.mappings``: the default mappings shipped with Baton.

Edit a copy, not these: ``baton init`` writes one into ./mappings, which then wins.
"""
