"""The review UI: server-rendered pages over `moderation.review`, served by `moderation web`."""

from moderation.web.app import create_app

__all__ = ["create_app"]
