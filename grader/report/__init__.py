"""Renderers: each reads a `GradeResult` and writes one format; none of them decides anything."""
