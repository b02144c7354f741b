"""The test harness's WordPress is a real one: application passwords over plain HTTP on loopback,
comments by guests and registered users, approved and held."""

from __future__ import annotations

import httpx

from tests.integration.wordpress_site import WordPressSite


def test_application_password_reads_held_comments_that_anonymous_readers_cannot_see(
    wordpress_site: WordPressSite,
) -> None:
    post = wordpress_site.add_post("Harness: held comments")
    held = wordpress_site.add_comment("Held, by a guest.", author_name="Mike", status="hold", post_id=post)

    with wordpress_site.client(authenticated=False) as anonymous:
        refused = anonymous.get("/comments", params={"post": post, "status": "hold"})
        public = anonymous.get("/comments", params={"post": post}).json()
    with wordpress_site.client() as admin:
        listed = admin.get("/comments", params={"post": post, "status": "hold"}).json()

    assert refused.status_code == 401
    assert public == []
    assert [(c["id"], c["author"], c["author_name"], c["status"]) for c in listed] == [(held["id"], 0, "Mike", "hold")]


def test_registered_users_comment_carries_their_user_id_and_status_changes_are_read_back(
    wordpress_site: WordPressSite,
) -> None:
    post = wordpress_site.add_post("Harness: registered users")
    mike = wordpress_site.add_user("mike_registered")
    comment = wordpress_site.add_comment("I have an account.", author_name="Mike", user_id=mike, post_id=post)

    wordpress_site.set_status(comment["id"], "trash")

    assert comment["author"] == mike
    assert comment["status"] == "approved"
    assert wordpress_site.comment(comment["id"])["status"] == "trash"


def test_site_refuses_connections_while_down_and_serves_again_after(wordpress_site: WordPressSite) -> None:
    with wordpress_site.down():
        try:
            httpx.get(f"{wordpress_site.api}/comments", timeout=10)
            reached = True
        except httpx.ConnectError:
            reached = False
    assert not reached
    assert httpx.get(f"{wordpress_site.api}/comments", timeout=60).status_code == 200
