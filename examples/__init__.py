"""This folder is also the package ``baton.examples``: example handoffs shipped with Baton."""
