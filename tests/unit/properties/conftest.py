"""Hypothesis settings for the property tests: no example database in the work tree, no per-example deadline
(the public suffix list loads on first use)."""

from hypothesis import settings

settings.register_profile("sfzsync", database=None, deadline=None)
settings.load_profile("sfzsync")
