"""Checks: small functions registered under the names specs use. See `registry`."""
