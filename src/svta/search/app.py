"""The HTTP face of a search index (FastAPI): the JSON search API, video and thumbnail files confined
to the indexed root, a health check, OpenAPI docs and the single-file web page at ``/``.

Every error is a small JSON body with a 4xx status and never a stack trace; requests with bodies,
long targets or foreign Host headers are refused before they reach a route.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from svta.search.config import LOOPBACK_HOSTS, SearchConfig

if TYPE_CHECKING:
    from svta.search.searcher import Searcher, SearchHit

LOG = logging.getLogger("svta.search")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class SearchResult(BaseModel):
    """One ranked video."""

    id: str
    score: float = Field(description="query-video similarity (cosine, or the model's re-ranking score)")
    category: str | None
    is_anomaly: bool | None
    caption: str | None = Field(description="the caption, when the dataset has one")
    video_url: str
    thumbnail_url: str | None
    frame_scores: list[float] = Field(description="similarity of the query to each sampled frame, in time order")
    frame_times: list[float | None] = Field(description="seconds of each sampled frame (null: unknown)")
    best_frame: int | None = Field(description="index of the most relevant sampled frame")


class SearchResponse(BaseModel):
    query: str
    kind: str
    k: int
    total_matching: int = Field(description="indexed videos the kind filter admits; results hold min(k, this)")
    complete: bool = Field(description="true when k results came back; false when fewer videos match than k")
    exact: bool = Field(
        description="true when the ranking is the exact scan's; false when the index uses an approximate first "
        "stage, so the ranking may differ from the exact scan's"
    )
    results: list[SearchResult]


class Health(BaseModel):
    status: Literal["ok"]
    videos: int
    anomaly: int
    normal: int
    encoder: str
    dim: int
    exact: bool = Field(description="true when every ranking is the exact scan's (no approximate first stage)")


def _result(hit: SearchHit) -> SearchResult:
    return SearchResult(
        id=hit.id,
        score=round(hit.score, 6),
        category=hit.category,
        is_anomaly=hit.is_anomaly,
        caption=hit.caption,
        video_url=f"/videos/{hit.id}",
        thumbnail_url=f"/thumbnails/{hit.id}" if hit.has_thumbnail else None,
        frame_scores=hit.frame_scores,
        frame_times=hit.frame_times,
        best_frame=hit.best_frame,
    )


@lru_cache(maxsize=1)
def page_html() -> str:
    """The web page shipped as package data (``svta/resources/search.html``)."""
    return resources.files("svta").joinpath("resources/search.html").read_text(encoding="utf-8")


def content_security_policy(html: str) -> str:
    """A CSP that allows only this page's own inline script and style (by hash) and same-origin media."""
    hashes = {
        tag: " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        )
        for tag in ("script", "style")
    }
    return (
        "default-src 'none'; "
        f"script-src {hashes['script']}; style-src {hashes['style']}; "
        "img-src 'self'; media-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class GuardMiddleware:
    """Pure-ASGI gate in front of the app: refuses foreign Host headers (400), oversized targets (414)
    and request bodies (413), and adds hardening headers to every response."""

    def __init__(self, app: Any, max_url_bytes: int, max_body_bytes: int, allowed_hosts: list[str]):
        self.app, self.max_url_bytes, self.max_body_bytes = app, max_url_bytes, max_body_bytes
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            status, message = refusal
            await _send_json(send, status, {"error": message})
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > self.max_url_bytes:
            return 414, f"request target longer than {self.max_url_bytes} bytes"
        headers = dict(scope.get("headers") or [])
        if "*" not in self.allowed_hosts and host_name(headers.get(b"host", b"")) not in self.allowed_hosts:
            return 400, "Host header not allowed"
        if b"transfer-encoding" in headers:
            return 413, "request bodies are not accepted"
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body_bytes:
            return 413, f"request body over {self.max_body_bytes} bytes"
        return None


def host_name(raw: bytes) -> str:
    """The host part of a Host header, lower-case, without port or IPv6 brackets."""
    host = raw.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def default_allowed_hosts(host: str) -> list[str]:
    """Host headers accepted by default: loopback names when bound to loopback (defeats DNS
    rebinding against a local service), anything otherwise."""
    return [h.strip("[]") for h in LOOPBACK_HOSTS] if host in LOOPBACK_HOSTS else ["*"]


def create_app(searcher: Searcher, config: SearchConfig | None = None) -> FastAPI:
    """The FastAPI application serving ``searcher``.

    Args:
        searcher: a loaded index with its encoder.
        config: limits (query length, k, request sizes) and allowed Host headers.
    """
    config = config or SearchConfig()
    app = FastAPI(
        title="svta search",
        version="1",
        debug=False,
        docs_url=None,  # served by _add_docs_route from local assets (FastAPI's default loads a CDN)
        redoc_url=None,
        description="Text-to-video anomaly retrieval over an svta index: ranked clips with per-frame relevance.",
    )
    _install_error_handlers(app)
    _add_api_routes(app, searcher, config)
    _add_file_routes(app, searcher)
    _add_page_route(app)
    _add_docs_route(app)
    app.add_middleware(
        GuardMiddleware,
        max_url_bytes=config.max_url_bytes,
        max_body_bytes=config.max_body_bytes,
        allowed_hosts=config.allowed_hosts or default_allowed_hosts(config.host),
    )
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def validation_error(request: Any, exc: RequestValidationError) -> JSONResponse:
        # Name the field and the rule; never echo the (possibly huge) input back.
        detail = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)

    async def http_error(request: Any, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def unexpected_error(request: Any, exc: Exception) -> JSONResponse:
        LOG.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)

    # Starlette types every handler as taking a bare Exception, though it calls each with the class it is keyed by.
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)


def _add_api_routes(app: FastAPI, searcher: Searcher, config: SearchConfig) -> None:
    # Limits come from the config, so the parameters are declared here (default-value style).
    @app.get("/api/search", response_model=SearchResponse, summary="Rank indexed videos for a text query")
    def search(
        request: Request,
        q: str = Query(..., min_length=1, max_length=config.max_query_chars, description="the text query"),
        k: int = Query(config.default_k, ge=1, le=config.max_k, description="how many videos to return"),
        kind: Literal["all", "anomaly", "normal"] = Query("all", description="restrict to anomaly or normal clips"),
    ) -> SearchResponse:
        problem = query_text_problem(request.scope.get("query_string") or b"", q)
        if problem:
            raise HTTPException(422, problem)
        query = q.strip()
        if not query:
            raise HTTPException(422, "q must contain non-space characters")
        page = searcher.search_page(query, k=k, kind=kind)
        return SearchResponse(
            query=query,
            kind=kind,
            k=k,
            total_matching=page.total_matching,
            complete=page.complete,
            exact=page.exact,
            results=[_result(h) for h in page.hits],
        )

    @app.get("/healthz", response_model=Health, summary="Liveness and index size")
    def healthz() -> Health:
        counts = searcher.counts()
        meta = searcher.index.meta
        return Health(
            status="ok",
            videos=counts["all"],
            anomaly=counts["anomaly"],
            normal=counts["normal"],
            encoder=str(meta.encoder.get("name")),
            dim=meta.dim,
            exact=searcher.exact,
        )


def query_text_problem(raw_query: bytes, q: str) -> str | None:
    """Why a query text is refused, or None. Starlette decodes the query string leniently (invalid UTF-8
    becomes U+FFFD), so the raw bytes of every ``q`` are checked strictly here."""
    if "\x00" in q:
        return "q must not contain NUL characters"
    for part in raw_query.split(b"&"):
        name, _, value = part.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) != b"q":
            continue
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return "q is not valid UTF-8 (percent-encode the query's UTF-8 bytes)"
    return None


def _add_file_routes(app: FastAPI, searcher: Searcher) -> None:
    @app.get(
        "/videos/{video_id}",
        summary="The video file of an indexed id (byte ranges supported)",
        response_class=FileResponse,
    )
    def video(video_id: str = Path(pattern=ID_PATTERN, description="an indexed video id")) -> FileResponse:
        path = searcher.video_file(video_id)
        if path is None:
            raise HTTPException(404, "video not found")
        media = "video/mp4" if path.suffix.lower() in (".mp4", ".m4v") else "application/octet-stream"
        return FileResponse(path, media_type=media, headers={"cache-control": "private, max-age=3600"})

    @app.get("/thumbnails/{video_id}", summary="The JPEG thumbnail of an indexed id", response_class=FileResponse)
    def thumbnail(video_id: str = Path(pattern=ID_PATTERN, description="an indexed video id")) -> FileResponse:
        path = searcher.thumbnail_file(video_id)
        if path is None:
            raise HTTPException(404, "thumbnail not found")
        return FileResponse(path, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})


def _add_docs_route(app: FastAPI) -> None:
    """Interactive API docs at /docs from the Swagger UI files of ``swagger-ui-bundle``: the service
    works offline, so its docs must not depend on a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    try:
        import swagger_ui_bundle
    except ImportError:  # without the bundle, /openapi.json still describes the API
        return
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _add_page_route(app: FastAPI) -> None:
    html = page_html()
    headers = {"content-security-policy": content_security_policy(html), "cache-control": "no-cache"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # browsers ask for one; an empty answer keeps their consoles clean
