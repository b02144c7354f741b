"""What a moderator needs around an item: the thread (who replied to whom), the author's history, the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from moderation.models import SYSTEM_ACTOR, QueueStatus
from moderation.review.queue import QueueEntry
from moderation.storage.engine import Database
from moderation.storage.tables import CommentRow, ModerationActionRow, PostRow, QueueItemRow

ANCESTORS = 3
SIBLINGS_BEFORE = 3
SIBLINGS_AFTER = 2
REPLIES = 10


@dataclass(frozen=True)
class QueueState:
    item_id: int
    status: str
    reasons: dict[str, float]
    decided_by: str | None
    decision_code: str | None


@dataclass(frozen=True)
class ThreadComment:
    comment_id: str
    author: str
    text: str
    created_at: datetime | None
    parent_id: str | None
    parent_author: str | None
    """Whom this comment replies to (None: a top-level comment on the post)."""
    queue: QueueState | None
    """The comment's latest review-queue item, if it was ever flagged."""


@dataclass(frozen=True)
class ThreadContext:
    post_id: str | None
    post_title: str | None
    ancestors: list[ThreadComment]
    """The parent chain, oldest first (at most ANCESTORS)."""
    before: list[ThreadComment]
    """Siblings (same parent, or top level of the same post) just before the comment."""
    comment: ThreadComment
    replies: list[ThreadComment]
    after: list[ThreadComment]
    """Siblings just after the comment."""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason_code: str | None
    reason: str | None
    undoes_action_id: int | None
    queue_item_id: int | None
    comment_id: str
    author: str
    scorer: str | None


@dataclass
class AuthorHistory:
    source: str
    author: str
    comments: int = 0
    flagged: int = 0
    rejected: int = 0
    recent: list[ThreadComment] = field(default_factory=list)
    """Their latest comments other than the one under review, newest first."""


def thread_for(db: Database, item: QueueEntry) -> ThreadContext:
    """The conversation around the item's comment: its parents, nearby siblings and replies."""
    with db.session() as session:
        row = session.scalars(_comment(item.source, item.comment_id)).one()
        ancestors = _ancestors(session, row)
        parent_id = row.parent_external_id if row.parent_external_id != row.external_id else None
        siblings = select(CommentRow).where(
            CommentRow.source == row.source,
            CommentRow.post_external_id == row.post_external_id
            if row.post_external_id is not None
            else CommentRow.post_external_id.is_(None),
            CommentRow.parent_external_id == parent_id
            if parent_id is not None
            else CommentRow.parent_external_id.is_(None),
            CommentRow.id != row.id,
        )
        order = func.coalesce(CommentRow.created_at, CommentRow.ingested_at)
        here = row.created_at or row.ingested_at
        before = list(session.scalars(siblings.where(order <= here).order_by(order.desc()).limit(SIBLINGS_BEFORE)))
        after = list(session.scalars(siblings.where(order > here).order_by(order).limit(SIBLINGS_AFTER)))
        replies = list(
            session.scalars(
                select(CommentRow)
                .where(
                    CommentRow.source == row.source,
                    CommentRow.parent_external_id == row.external_id,
                    CommentRow.id.not_in([row.id, *(a.id for a in ancestors)]),
                )
                .order_by(order)
                .limit(REPLIES)
            )
        )
        title = None
        if row.post_id is not None:
            title = session.scalar(select(PostRow.title).where(PostRow.id == row.post_id))
        rows = [*ancestors, *before, row, *replies, *after]
        states = _queue_states(session, [r.id for r in rows])
    authors = {r.external_id: r.author for r in rows}

    def view(r: CommentRow) -> ThreadComment:
        return _view(r, authors.get(r.parent_external_id or ""), states.get(r.id))

    return ThreadContext(
        post_id=row.post_external_id,
        post_title=title,
        ancestors=[view(r) for r in ancestors],
        before=[view(r) for r in reversed(before)],
        comment=view(row),
        replies=[view(r) for r in replies],
        after=[view(r) for r in after],
    )


def author_history(
    db: Database,
    source: str,
    author: str,
    *,
    author_id: str | None = None,
    exclude: str | None = None,
    limit: int = 10,
) -> AuthorHistory:
    """How `author` behaved before: comment count, how many were flagged or rejected, their latest comments.

    A registered user (`author_id`) is their comments under that id, whatever name they used; a guest is
    the guest comments under that display name (a registered user of the same name is someone else).
    """
    history = AuthorHistory(source=source, author=author)
    if author_id is not None:
        mine: tuple[Any, ...] = (CommentRow.source == source, CommentRow.author_id == author_id)
    else:
        mine = (CommentRow.source == source, CommentRow.author == author, CommentRow.author_id.is_(None))
    with db.session() as session:
        history.comments = int(session.scalar(select(func.count()).select_from(CommentRow).where(*mine)) or 0)
        flagged = (
            select(QueueItemRow.status, func.count(func.distinct(QueueItemRow.comment_id)))
            .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
            .where(*mine)
            .group_by(QueueItemRow.status)
        )
        by_status = {status: int(count) for status, count in session.execute(flagged)}
        history.flagged = sum(by_status.values())
        history.rejected = by_status.get(QueueStatus.REJECTED, 0)
        query = select(CommentRow).where(*mine)
        if exclude is not None:
            query = query.where(CommentRow.external_id != exclude)
        order = func.coalesce(CommentRow.created_at, CommentRow.ingested_at)
        rows = list(session.scalars(query.order_by(order.desc(), CommentRow.id.desc()).limit(limit)))
        states = _queue_states(session, [r.id for r in rows])
    history.recent = [_view(r, None, states.get(r.id)) for r in rows]
    return history


def audit_for(db: Database, item: QueueEntry) -> list[AuditEntry]:
    """Every recorded decision on the item's comment (all revisions), oldest first."""
    query = _audit_query().where(CommentRow.source == item.source, CommentRow.external_id == item.comment_id)
    with db.session() as session:
        return [_audit(a, c) for a, c in session.execute(query.order_by(ModerationActionRow.id))]


def recent_actions(
    db: Database, *, actor: str | None = None, limit: int = 100, moderators_only: bool = True
) -> list[AuditEntry]:
    """The latest decisions, newest first; by default only those of moderators (not the pipeline's)."""
    query = _audit_query()
    if actor:
        query = query.where(ModerationActionRow.actor == actor)
    elif moderators_only:
        query = query.where(ModerationActionRow.actor != SYSTEM_ACTOR)
    with db.session() as session:
        return [_audit(a, c) for a, c in session.execute(query.order_by(ModerationActionRow.id.desc()).limit(limit))]


def _comment(source: str, external_id: str) -> Select[Any]:
    return select(CommentRow).where(CommentRow.source == source, CommentRow.external_id == external_id)


def _ancestors(session: Session, row: CommentRow) -> list[CommentRow]:
    """The parent chain, nearest last; a cycle (a comment that is its own parent, A -> B -> A) ends it."""
    chain: list[CommentRow] = []
    seen = {row.external_id}
    parent_id = row.parent_external_id
    while parent_id and parent_id not in seen and len(chain) < ANCESTORS:
        seen.add(parent_id)
        parent = session.scalars(_comment(row.source, parent_id)).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_external_id
    return list(reversed(chain))


def _queue_states(session: Session, comment_ids: Sequence[int]) -> dict[int, QueueState]:
    if not comment_ids:
        return {}
    rows = session.scalars(
        select(QueueItemRow).where(QueueItemRow.comment_id.in_(list(comment_ids))).order_by(QueueItemRow.id)
    )
    return {
        r.comment_id: QueueState(r.id, r.status, dict(r.reasons), r.decided_by, r.decision_code) for r in rows
    }  # later items (newer revisions) win


def _view(row: CommentRow, parent_author: str | None, state: QueueState | None) -> ThreadComment:
    return ThreadComment(
        comment_id=row.external_id,
        author=row.author,
        text=row.text,
        created_at=row.created_at,
        parent_id=row.parent_external_id,
        parent_author=parent_author,
        queue=state,
    )


def _audit_query() -> Select[ModerationActionRow, CommentRow]:
    return select(ModerationActionRow, CommentRow).join(CommentRow, ModerationActionRow.comment_id == CommentRow.id)


def _audit(action: ModerationActionRow, comment: CommentRow) -> AuditEntry:
    return AuditEntry(
        id=action.id,
        created_at=action.created_at,
        actor=action.actor,
        from_status=action.from_status,
        to_status=action.to_status,
        reason_code=action.reason_code,
        reason=action.reason,
        undoes_action_id=action.undoes_action_id,
        queue_item_id=action.queue_item_id,
        comment_id=comment.external_id,
        author=comment.author,
        scorer=action.scorer,
    )
