"""A real WordPress on 127.0.0.1 for the tests: Debian's `wordpress` package served by PHP's built-in
server on a free port, installed into a throwaway MariaDB database, with an admin account and an
application password for it.

WordPress accepts application passwords only over HTTPS, or on a site whose environment type is
`local`; the test site sets `WP_ENVIRONMENT_TYPE` to `local` (the documented switch), so the REST API
takes them over plain HTTP on loopback. Tests create comments through the REST API as the admin, who
may set any author (a guest: user id 0, or a registered user) and any status (approved or held).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

WORDPRESS_ROOT = Path("/usr/share/wordpress")
WORDPRESS_CONTENT = Path("/var/lib/wordpress/wp-content")
PHP_DIR = Path(__file__).resolve().parent / "wordpress_php"
MARIADB_HOST = os.environ.get("MODERATION_TEST_MARIADB", "127.0.0.1:3306")
MARIADB_USER = "root"
ADMIN = "admin"
STARTUP_SECONDS = 120.0
"""How long PHP may take to answer its first request (a busy, shared machine is slow)."""


def missing_packages() -> str | None:
    """Why a WordPress cannot be served here, or None when the packages are installed."""
    php = shutil.which("php")
    if php is None:
        return "php not found (Debian package php-cli)"
    if not (WORDPRESS_ROOT / "wp-settings.php").is_file():
        return f"{WORDPRESS_ROOT} not found (Debian package wordpress)"
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout.split()
    if "mysqli" not in modules:
        return "PHP has no mysqli extension (Debian package php-mysql)"
    return None


@dataclass
class WordPressSite:
    """A running test site; the helpers act through its REST API as the admin."""

    url: str
    admin_id: int
    admin_user: str
    application_password: str
    post_id: int
    """A published post, for tests that need any post; tests that count comments make their own."""
    _server: PhpServer = field(repr=False)

    @property
    def api(self) -> str:
        return f"{self.url}/wp-json/wp/v2"

    def client(self, *, authenticated: bool = True) -> httpx.Client:
        auth = httpx.BasicAuth(self.admin_user, self.application_password) if authenticated else None
        return httpx.Client(base_url=self.api, auth=auth, timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of an authenticated REST request; fails the test on an error status."""
        with self.client() as client:
            response = client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def add_post(self, title: str, content: str = "") -> int:
        return int(self.request("POST", "/posts", json={"title": title, "content": content, "status": "publish"})["id"])

    def add_user(self, name: str) -> int:
        """A registered user (role subscriber); returns its user id."""
        user = {"username": name, "name": name, "email": f"{name}@example.test", "password": secrets.token_hex(12)}
        return int(self.request("POST", "/users", json=user)["id"])

    def add_comment(
        self,
        text: str,
        *,
        author_name: str = "guest",
        author_email: str | None = None,
        user_id: int = 0,
        status: str = "approved",
        post_id: int | None = None,
        parent: int = 0,
        date_gmt: str | None = None,
    ) -> dict[str, Any]:
        """A comment by a guest (`user_id` 0) or by a registered user, `approved` or `hold`.

        WordPress refuses the same text twice on a post by the same author ("Duplicate comment").
        """
        body: dict[str, Any] = {
            "post": post_id or self.post_id,
            "content": text,
            "author_name": author_name,
            "author_email": author_email or f"{author_name.lower().replace(' ', '.')}@example.test",
            "status": status,
            "parent": parent,
        }
        if user_id:  # a guest has no `author`: WordPress refuses user id 0 here and stores 0 itself
            body["author"] = user_id
        if date_gmt is not None:
            body["date_gmt"] = date_gmt
        return dict(self.request("POST", "/comments", json=body))

    def comment(self, comment_id: int) -> dict[str, Any]:
        """A comment as the admin sees it (edit context: status, e-mail)."""
        return dict(self.request("GET", f"/comments/{comment_id}", params={"context": "edit"}))

    def set_status(self, comment_id: int, status: str) -> dict[str, Any]:
        """Approve (`approved`), hold (`hold`), spam (`spam`) or trash (`trash`) a comment, as in wp-admin."""
        return dict(self.request("POST", f"/comments/{comment_id}", json={"status": status}))

    def edit(self, comment_id: int, text: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/comments/{comment_id}", json={"content": text}))

    def delete(self, comment_id: int) -> None:
        """Delete for good (not to the trash)."""
        self.request("DELETE", f"/comments/{comment_id}", params={"force": "true"})

    @contextmanager
    def down(self) -> Iterator[None]:
        """The site is unreachable inside the block (its server stopped) and serves again after it."""
        self._server.stop()
        try:
            yield
        finally:
            self._server.start()


class PhpServer:
    """`php -S 127.0.0.1:<port>` with the router, restartable on the same port."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(WORDPRESS_ROOT), str(PHP_DIR / "router.php")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers it forks stop with it
            )
        self._wait_until_it_answers()

    def stop(self) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):  # it may have exited already
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def _wait_until_it_answers(self) -> None:
        """Polls the REST index until WordPress answers (startup readiness, not a timing assumption)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/wp-json/", timeout=30).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"WordPress did not answer on port {self.port}; server log:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no log)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_wordpress(workdir: Path) -> Iterator[WordPressSite]:
    """Installs a site into a new MariaDB database, serves it, and removes both afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "WP_TEST_ABSPATH": f"{WORDPRESS_ROOT}/",
        "WP_TEST_CONTENT_DIR": str(WORDPRESS_CONTENT),
        "WP_TEST_DB_NAME": f"wordpress_test_{secrets.token_hex(6)}",
        "WP_TEST_DB_USER": MARIADB_USER,
        "WP_TEST_DB_PASSWORD": "",
        "WP_TEST_DB_HOST": MARIADB_HOST,
        "WP_TEST_URL": f"http://127.0.0.1:{port}",
        "WP_TEST_ADMIN": ADMIN,
        "PHP_CLI_SERVER_WORKERS": "4",
    }
    try:
        installed = _install(env)
        server = PhpServer(port, env, workdir / "php-server.log")
        server.start()
        try:
            yield WordPressSite(
                url=env["WP_TEST_URL"],
                admin_id=installed["admin_id"],
                admin_user=ADMIN,
                application_password=installed["application_password"],
                post_id=installed["post_id"],
                _server=server,
            )
        finally:
            server.stop()
    finally:
        _drop_database(env)


def _install(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        ["php", str(PHP_DIR / "install.php")], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"installing WordPress failed ({done.returncode}):\n{output}")
    # WordPress may print notices before the JSON line; the JSON is the last line.
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _drop_database(env: dict[str, str]) -> None:
    script = (
        "[$h, $p] = explode(':', getenv('WP_TEST_DB_HOST')) + [1 => '3306'];"
        "$m = new mysqli($h, getenv('WP_TEST_DB_USER'), getenv('WP_TEST_DB_PASSWORD'), null, (int) $p);"
        "$m->query('DROP DATABASE IF EXISTS `' . $m->real_escape_string(getenv('WP_TEST_DB_NAME')) . '`');"
    )
    subprocess.run(["php", "-r", script], env=env, capture_output=True, timeout=120, check=False)
