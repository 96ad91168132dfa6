"""Setting up a Label Studio review project through its REST API: the project with svta's labelling
config, a Local Files storage over the clips (without it Label Studio refuses to serve them), and the
tasks with their predictions. Works with personal access tokens (Label Studio 1.2x), legacy tokens, or a
user name and password (svta logs in and creates the personal access token itself).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.errors import BackendError

CLIP_PATTERN = r".*\.(mp4|webm|mov|mkv|avi)$"
_TOKEN_HINT = (
    "use a personal access token (Account & Settings > Personal Access Token), or enable legacy tokens "
    "(Organization > Settings > Access Token Settings) and pass that token"
)
_STORAGE_HINT = (
    "start Label Studio with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and "
    "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=<the dataset root>, on the machine that holds the clips"
)


@dataclass(frozen=True)
class LabelStudioProject:
    """What was created in Label Studio."""

    id: int
    url: str  # the project's data page
    storage_id: int
    n_tasks: int


def is_personal_access_token(token: str) -> bool:
    """Personal access tokens are JWTs (three base64url parts, the header starting ``eyJ``); legacy
    tokens are 40 hex characters."""
    return token.startswith("eyJ") and token.count(".") == 2


class LabelStudioAPI:
    """A minimal JSON client for Label Studio's REST API.

    Args:
        url: Label Studio's address, e.g. ``http://localhost:8080``.
        token: A personal access token (exchanged for a short-lived access token at
            ``/api/token/refresh`` and sent as ``Bearer``) or a legacy token (sent as ``Token``).
        timeout_s: Seconds per request.
    """

    def __init__(self, url: str, token: str | None, timeout_s: float = 60.0, *, login: LabelStudioLogin | None = None):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.opener = urllib.request.build_opener()
        self.csrf: str | None = None
        if login is not None:
            token = self._login(login)
        if token is None:  # logged in, and the account already has a personal access token: use the session
            self.authorization = None
        elif is_personal_access_token(token):
            access = self.request("POST", "/api/token/refresh", {"refresh": token}, authorization=None)
            if not isinstance(access, dict) or not access.get("access"):
                raise BackendError(f"Label Studio at {self.url}: /api/token/refresh gave no access token")
            self.authorization = f"Bearer {access['access']}"
        else:
            self.authorization = f"Token {token}"

    def _login(self, login: LabelStudioLogin) -> str | None:
        """Log in with a session and create a personal access token (``POST /api/token/``).

        Returns the token, or None when the account already holds one (Label Studio shows a token once and
        refuses a second): the session then authorises the calls itself.
        """
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page, _ = self._send(urllib.request.Request(self.url + LOGIN_PATH, method="GET"), "GET", LOGIN_PATH)
        match = re.search(rb'name=["\']csrfmiddlewaretoken["\']\s+value=["\']([^"\']+)', page or b"")
        csrf = match.group(1).decode() if match else _cookie(jar, "csrftoken")
        if not csrf:
            raise BackendError(f"Label Studio at {self.url}: no CSRF token on {LOGIN_PATH}; is this Label Studio?")
        form = urllib.parse.urlencode(
            {"email": login.username, "password": login.password, "csrfmiddlewaretoken": csrf}
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.url + LOGIN_PATH}
        request = urllib.request.Request(self.url + LOGIN_PATH, form.encode(), headers, method="POST")
        _, landed = self._send(request, "POST", LOGIN_PATH)
        # a good login redirects away from the form; a bad one shows the form again (status 200, and Label
        # Studio sets a session cookie for anonymous visitors too, so the cookie proves nothing)
        if urllib.parse.urlparse(landed).path.rstrip("/") == LOGIN_PATH.rstrip("/"):
            raise BackendError(
                f"Label Studio at {self.url}: login as {login.username!r} failed (wrong user name or password); "
                "the account is the one `label-studio start --username U --password P` created"
            )
        self.csrf = _cookie(jar, "csrftoken")  # Django rotates it at login
        try:
            created = self.request("POST", "/api/token/", {}, authorization=None)
        except BackendError as exc:
            if "HTTP 409" in str(exc):
                return None
            raise
        if not isinstance(created, dict) or not created.get("token"):
            raise BackendError(f"Label Studio at {self.url}: POST /api/token/ gave no token")
        return str(created["token"])

    def request(self, method: str, path: str, body: Any = None, authorization: str | None = "") -> Any:
        """Send one request; returns the decoded JSON answer (``None`` for an empty one).

        Raises:
            BackendError: Label Studio cannot be reached or answers with an error status (one line,
                with the likely fix for 401/403 and for a refused Local Files storage).
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth = self.authorization if authorization == "" else authorization
        if auth:
            headers["Authorization"] = auth
        if self.csrf:  # a logged-in session: Django checks the CSRF token of unsafe requests
            headers["X-CSRFToken"] = self.csrf
            headers["Referer"] = self.url + "/"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        text, _ = self._send(request, method, path)
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise BackendError(f"Label Studio at {self.url}: {method} {path}: answer is not JSON") from None

    def _send(self, request: urllib.request.Request, method: str, path: str) -> tuple[bytes, str]:
        """The answer's body and the URL it came from (after redirects)."""
        try:
            with self.opener.open(request, timeout=self.timeout_s) as response:
                return bytes(response.read()), str(response.geturl())
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc.read().decode(errors="replace"))
            raise BackendError(
                f"Label Studio at {self.url}: {method} {path}: HTTP {exc.code}: {detail}{_hint(exc.code, path)}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendError(f"cannot reach Label Studio at {self.url}: {reason}; is it running?") from None


LOGIN_PATH = "/user/login/"


@dataclass(frozen=True)
class LabelStudioLogin:
    """A Label Studio account (the e-mail it was created with) to log in as instead of giving a token."""

    username: str
    password: str = field(repr=False)


def _cookie(jar: http.cookiejar.CookieJar, name: str) -> str | None:
    return next((cookie.value for cookie in jar if cookie.name == name), None)


def _error_detail(body: str) -> str:
    """The messages of a Label Studio error answer (``validation_errors``, else ``detail``), on one line."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        errors = data.get("validation_errors")
        if isinstance(errors, dict) and errors:
            messages = [
                f"{key}: {m}" if key != "non_field_errors" else str(m)
                for key, value in errors.items()
                for m in (value if isinstance(value, list) else [value])
            ]
            body = "; ".join(messages)
        elif data.get("detail"):
            body = str(data["detail"])
    return " ".join(body.split())[:500]


def _hint(status: int, path: str) -> str:
    if status in (401, 403):
        return f"; {_TOKEN_HINT}"
    if status == 400 and path.startswith("/api/storages/localfiles"):
        return f"; {_STORAGE_HINT}"
    return ""


def clips_folder(root: Path, videos: Sequence[str]) -> Path:
    """The folder the Local Files storage must cover: the deepest one holding every exported clip."""
    root = Path(root).resolve()
    if not videos:
        return root
    return Path(os.path.commonpath([str((root / v).resolve().parent) for v in videos]))


def create_review_project(
    url: str,
    token: str | None,
    title: str,
    label_config: str,
    tasks: list[dict[str, Any]],
    clips_dir: Path,
    login: LabelStudioLogin | None = None,
) -> LabelStudioProject:
    """Create the project, connect a Local Files storage over ``clips_dir`` and import ``tasks``.

    The storage is not synced: the tasks (with their predictions) come from the import, and the
    storage only lets Label Studio serve the clips they point at. A failure after the project was
    created deletes it again, so no half-made project is left behind.

    Raises:
        BackendError: naming the request that failed and the likely fix.
    """
    api = LabelStudioAPI(url, token, login=login)
    project = api.request("POST", "/api/projects", {"title": title, "label_config": label_config})
    project_id = int(project["id"])
    try:
        storage = api.request(
            "POST",
            "/api/storages/localfiles",
            {
                "project": project_id,
                "title": "svta clips",
                "path": str(clips_dir),
                "regex_filter": CLIP_PATTERN,
                "use_blob_urls": True,
                "recursive_scan": True,
            },
        )
        imported = api.request("POST", f"/api/projects/{project_id}/import", tasks) or {}
    except BackendError:
        try:
            api.request("DELETE", f"/api/projects/{project_id}")
        except BackendError:
            pass  # the first error is the one to report
        raise
    n_tasks = int(imported.get("task_count", len(tasks)))
    return LabelStudioProject(project_id, f"{api.url}/projects/{project_id}/data", int(storage["id"]), n_tasks)
