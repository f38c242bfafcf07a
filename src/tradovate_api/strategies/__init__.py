"""Strategies shipped with the framework."""

from __future__ import annotations

from .reference import ReferenceParams, ReferenceStrategy

__all__ = ["ReferenceParams", "ReferenceStrategy"]
