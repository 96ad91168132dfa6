from __future__ import annotations

import os
import socket

import pytest
from searchkit import FRAMES, ColourEncoder

from svta.search.app import create_app
from svta.search.config import SearchConfig
from svta.search.searcher import Searcher
from svta.search.server import BackgroundServer

SECRET = b"TOP-SECRET-CONTENT"


@pytest.fixture(scope="module")
def served(colour_index, tmp_path_factory):
    """``(app, searcher, root)`` with a secret file beside the root and a symlink to it inside."""
    root, index_dir = colour_index
    secret = tmp_path_factory.mktemp("outside") / "secret.mp4"
    secret.write_bytes(SECRET)
    os.symlink(secret, root / "videos" / "escape.mp4")
    os.symlink(secret, index_dir / "thumbnails" / "escape.jpg")
    searcher = Searcher.open(index_dir, ColourEncoder())
    # an index entry pointing at the symlink, as a tampered or careless manifest would produce
    searcher.index.items.append({**searcher.index.items[0], "id": "escape", "path": "videos/escape.mp4"})
    searcher.rows["escape"] = len(searcher.index.items) - 1
    return create_app(searcher, SearchConfig()), searcher, root


@pytest.fixture(scope="module")
def client(served):
    from fastapi.testclient import TestClient

    with TestClient(served[0], base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_search_returns_ranked_results_with_frame_relevance(client):
    response = client.get("/api/search", params={"q": "red", "k": 3})
    assert response.status_code == 200
    data = response.json()
    assert [r["id"] for r in data["results"]][2] == "blue2red" and len(data["results"]) == 3
    first = data["results"][0]
    assert set(first) >= {
        "id",
        "score",
        "category",
        "is_anomaly",
        "caption",
        "video_url",
        "thumbnail_url",
        "frame_scores",
    }
    assert first["video_url"] == f"/videos/{first['id']}" and first["thumbnail_url"] == f"/thumbnails/{first['id']}"
    assert len(first["frame_scores"]) == FRAMES and first["is_anomaly"] is True
    third = data["results"][2]
    assert third["best_frame"] >= FRAMES // 2 and third["caption"].startswith("<img")  # data, returned as is
    normal = client.get("/api/search", params={"q": "red", "k": 10, "kind": "normal"}).json()["results"]
    assert {r["id"] for r in normal} == {"green1", "blue1", "yellow1"}


def test_responses_say_how_much_of_the_request_they_cover(client):
    """k above the matching videos: every match comes back and the response says it is all there is."""
    asked = client.get("/api/search", params={"q": "red", "k": 2, "kind": "anomaly"}).json()
    assert (len(asked["results"]), asked["total_matching"], asked["complete"], asked["exact"]) == (2, 3, True, True)
    short = client.get("/api/search", params={"q": "red", "k": 100, "kind": "anomaly"}).json()
    assert (len(short["results"]), short["total_matching"], short["complete"]) == (3, 3, False)
    assert all(r["is_anomaly"] for r in short["results"]) and short["k"] == 100
    normal = client.get("/api/search", params={"q": "red", "k": 3, "kind": "normal"}).json()
    assert (len(normal["results"]), normal["total_matching"], normal["complete"]) == (3, 3, True)


def test_health_docs_and_page(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["videos"] == 7 and (health["anomaly"], health["normal"]) == (3, 3)
    assert health["exact"] is True  # 7 clips: the exact scan, whatever search.two_stage says
    spec = client.get("/openapi.json").json()
    assert "/api/search" in spec["paths"] and "/videos/{video_id}" in spec["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="q"' in page.text and "http://" not in page.text.replace("http://www.w3", "")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"q": "x" * 1001}, "query.q"),
        ({"q": ""}, "query.q"),
        ({}, "query.q"),
        ({"q": "red", "k": 0}, "query.k"),
        ({"q": "red", "k": 101}, "query.k"),
        ({"q": "red", "k": "ten"}, "query.k"),
        ({"q": "red", "kind": "weird"}, "query.kind"),
    ],
)
def test_invalid_queries_are_422_json_without_echo(client, params, field):
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid request" and body["detail"][0]["field"] == field
    assert "x" * 100 not in response.text and "Traceback" not in response.text


def test_blank_query_and_boundaries(client):
    assert client.get("/api/search", params={"q": "   "}).status_code == 422
    assert client.get("/api/search", params={"q": "r" * 1000, "k": 100}).status_code == 200
    assert client.get("/api/search", params={"q": "red", "k": 1}).json()["k"] == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("red%00car", "NUL"), ("red%FFcar", "UTF-8"), ("%C3%28", "UTF-8"), ("a+%E2%82", "UTF-8")],
)
def test_nul_and_invalid_utf8_queries_are_422(client, raw, reason):
    response = client.get(f"/api/search?k=2&q={raw}")
    assert response.status_code == 422 and reason in response.json()["error"]


def test_valid_utf8_queries_still_answer(client):
    assert client.get("/api/search?q=caf%C3%A9+red").status_code == 200
    assert client.get("/api/search", params={"q": "naïve 車 red"}).status_code == 200


def test_videos_and_thumbnails_are_served_with_ranges(client, served):
    root = served[2]
    full = client.get("/videos/red1")
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.content == (root / "videos" / "red1.mp4").read_bytes()
    part = client.get("/videos/red1", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == full.content[:10]
    thumb = client.get("/thumbnails/red1")
    assert (
        thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    )
    assert client.get("/videos/unknown").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/videos/escape",  # indexed, but a symlink out of the root
        "/thumbnails/escape",
        "/videos/..%2F..%2F..%2Fetc%2Fpasswd",
        "/videos/%2e%2e%2f%2e%2e%2fsecret.mp4",
        "/videos/%252e%252e%252fsecret.mp4",  # double-encoded
        "/videos/%2Fetc%2Fpasswd",  # absolute
        "/videos/red1%00.mp4",
        "/thumbnails/..%2Findex.json",
        "/videos/C:%5Cwindows%5Cwin.ini",
    ],
)
def test_traversal_is_refused(client, path):
    response = client.get(path)
    assert response.status_code in (404, 422) and SECRET not in response.content
    assert response.headers["content-type"].startswith("application/json") and "Traceback" not in response.text


def test_malformed_and_oversized_requests(client):
    assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
    assert client.get("/api/search?q=" + "a" * 5000).status_code == 414
    too_big = client.request("GET", "/api/search", params={"q": "red"}, content=b"x" * 5000)
    assert too_big.status_code == 413 and too_big.json()["error"]
    wrong_method = client.post("/api/search", params={"q": "red"})
    assert wrong_method.status_code == 405 and wrong_method.json() == {"error": "Method Not Allowed"}
    assert client.get("/nowhere").json() == {"error": "Not Found"}


def test_internal_errors_hide_the_traceback(served, monkeypatch):
    from fastapi.testclient import TestClient

    app, searcher, _ = served
    monkeypatch.setattr(searcher, "search", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("secret detail")))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        response = c.get("/api/search", params={"q": "red"})
    assert response.status_code == 500 and response.json() == {"error": "internal error"}
    assert "secret detail" not in response.text


def _raw_get(url: str, target: str, host: str = "127.0.0.1") -> bytes:
    hostname, port = url.removeprefix("http://").split(":")
    with socket.create_connection((hostname, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_raw_http_traversal_over_a_real_socket(served):
    """Targets a client library would normalise away, sent byte for byte to uvicorn."""
    with BackgroundServer(served[0]) as url:
        assert url.startswith("http://127.0.0.1:")
        for target in [
            "/videos/../../../etc/passwd",
            "/videos/../index.json",
            "/thumbnails/../../secret.mp4",
            "/videos/%2e%2e/%2e%2e/etc/passwd",
            "http://127.0.0.1/videos/..%2fsecret.mp4",
            "//etc/passwd",
        ]:
            reply = _raw_get(url, target)
            status = int(reply.split(b" ", 2)[1])
            assert status in (400, 404, 422) and SECRET not in reply and b"root:" not in reply, target
        assert _raw_get(url, "/healthz").split(b" ", 2)[1] == b"200"
        assert _raw_get(url, "/healthz", host="attacker.example").split(b" ", 2)[1] == b"400"


def test_api_docs_are_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/api/search"]
