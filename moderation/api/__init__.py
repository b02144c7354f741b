"""`moderation api`: the scoring service other systems call over HTTP (native, Perspective, Coral Talk)."""

from moderation.api.app import create_app

__all__ = ["create_app"]
