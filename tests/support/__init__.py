"""Test support code that is not a test: toy platforms and helpers tests import."""
