"""Filled in by this app's views work."""
