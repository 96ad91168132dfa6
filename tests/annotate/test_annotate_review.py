from __future__ import annotations

import csv
import json
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from annotatekit import write_captions

from svta.annotate.labelstudio import export_label_studio, import_label_studio, labeling_config
from svta.annotate.review_csv import export_review_csv, import_review_csv
from svta.errors import InputError
from svta.tables import read_records, table_path, write_table
from svta.taxonomy import default_taxonomy


@pytest.fixture
def review_root(tmp_path):
    """4 captions: two auto-labelled, one needs review, one carrying its category; two have videos."""
    write_captions(
        tmp_path,
        [
            {"id": "a", "caption": "Two men fight."},
            {"id": "b", "caption": "A woman walks."},
            {"id": "c", "caption": "Something odd."},
            {"id": "d", "caption": "A building explodes.", "category": "explosion"},
        ],
    )
    labels = [
        {
            "id": "a",
            "category": "fighting",
            "is_anomaly": True,
            "method": "minilm",
            "confidence": 0.9,
            "reviewed": False,
        },
        {
            "id": "b",
            "category": "running",
            "is_anomaly": False,
            "method": "minilm",
            "confidence": 0.2,
            "reviewed": False,
        },
        {
            "id": "c",
            "category": "needs_review",
            "is_anomaly": False,
            "method": "llm:x",
            "confidence": 0.0,
            "reviewed": False,
        },
    ]
    write_table(labels, table_path(tmp_path, "labels"), "labels")
    videos = [
        {
            "id": i,
            "path": f"videos/{i}.mp4",
            "frames": 4,
            "fps": 8.0,
            "width": 32,
            "height": 32,
            "sha256": "0" * 64,
            "backend": "test",
        }
        for i in ("a", "b")
    ]
    write_table(videos, table_path(tmp_path, "videos"), "videos")
    return tmp_path


def label_studio_export(tasks: list[dict], answers: dict[str, str | None]) -> list[dict]:
    """What Label Studio's JSON export looks like after annotators answered (None: skipped task)."""
    out = []
    for number, task in enumerate(tasks, start=1):
        answer = answers.get(task["data"]["svta_id"])
        annotations = []
        if answer is not None:
            annotations.append(
                {
                    "id": number,
                    "was_cancelled": False,
                    "updated_at": "2025-01-01T00:00:00Z",
                    "result": [
                        {"from_name": "category", "to_name": "video", "type": "choices", "value": {"choices": [answer]}}
                    ],
                }
            )
        out.append({"id": 100 + number, "data": task["data"], "annotations": annotations, "predictions": []})
    return out


def test_export_tasks_and_labeling_config(review_root):
    result = export_label_studio(review_root)
    tasks = json.loads(result.tasks_path.read_text())
    by_id = {t["data"]["svta_id"]: t for t in tasks}
    assert result.n_tasks == 4 and set(by_id) == {"a", "b", "c", "d"}
    assert by_id["a"]["data"]["video"] == "/data/local-files/?d=videos/a.mp4" and by_id["c"]["data"]["video"] == ""
    prediction = by_id["a"]["predictions"][0]
    assert prediction["score"] == 0.9 and prediction["model_version"] == "minilm"
    assert prediction["result"][0] == {
        "from_name": "category",
        "to_name": "video",
        "type": "choices",
        "value": {"choices": ["fighting"]},
    }
    assert "predictions" not in by_id["c"]  # nothing to pre-annotate
    assert by_id["d"]["predictions"][0]["model_version"] == "caption"
    view = ET.fromstring(result.config_path.read_text())
    assert view.find("Video").get("value") == "$video" and view.find("Text").get("value") == "$caption"
    choices = view.find("Choices")
    assert choices.get("name") == "category" and choices.get("toName") == "video"
    values = [c.get("value") for c in choices.findall("Choice")]
    assert values == [c.name for c in default_taxonomy()] + ["Not an anomaly", "Unusable clip"]
    assert view.find("Video").get("frameRate") == "8" and result.framerate == 8  # the clips' fps, not LS's 24
    assert by_id["a"]["data"]["fps"] == 8.0 and "fps" not in by_id["c"]["data"]
    assert len(export_label_studio(review_root, review_root / "low", max_confidence=0.5).tasks_path.read_text()) > 0
    low = json.loads((review_root / "low" / "tasks.json").read_text())
    assert {t["data"]["svta_id"] for t in low} == {"b", "c"}


def test_label_studio_round_trip(review_root):
    tasks = json.loads(export_label_studio(review_root).tasks_path.read_text())
    answers = {"a": "fighting", "b": "walking", "c": "theft or stealing", "d": None}
    path = review_root / "export.json"
    path.write_text(json.dumps(label_studio_export(tasks, answers)))
    result = import_label_studio(review_root, path)
    assert (result.n_rows, result.n_imported, result.n_skipped) == (4, 3, 1)
    # automatic vs human over a and b (c had no automatic label): fighting agrees, running ≠ walking
    assert result.agreement.n == 2 and result.agreement.accuracy == 0.5
    assert result.agreement.confusions == [("running", "walking", 1)]
    labels = {row["id"]: row for row in read_records(table_path(review_root, "labels"), "labels")}
    assert labels["c"] == {
        "id": "c",
        "category": "stealing",
        "is_anomaly": True,
        "method": "human",
        "confidence": 1.0,
        "reviewed": True,
    }
    assert labels["b"]["category"] == "walking" and labels["b"]["reviewed"] is True
    # reviewed items leave the next export
    again = json.loads(export_label_studio(review_root).tasks_path.read_text())
    assert [t["data"]["svta_id"] for t in again] == ["d"]


def test_json_min_export_and_latest_annotation(review_root):
    rows = [{"id": 1, "svta_id": "a", "caption": "x", "category": "assault"}, {"id": 2, "svta_id": "b"}]
    path = review_root / "min.json"
    path.write_text(json.dumps(rows))
    assert import_label_studio(review_root, path).n_imported == 1
    full = [
        {
            "id": 3,
            "data": {"svta_id": "c"},
            "annotations": [
                {
                    "updated_at": "2025-01-02",
                    "result": [{"type": "choices", "from_name": "category", "value": {"choices": ["smoke"]}}],
                },
                {
                    "updated_at": "2025-01-01",
                    "result": [{"type": "choices", "from_name": "category", "value": {"choices": ["fire"]}}],
                },
                {
                    "updated_at": "2025-01-03",
                    "was_cancelled": True,
                    "result": [{"type": "choices", "value": {"choices": ["fog"]}}],
                },
            ],
        }
    ]
    path.write_text(json.dumps(full))
    import_label_studio(review_root, path)
    labels = {row["id"]: row["category"] for row in read_records(table_path(review_root, "labels"), "labels")}
    assert labels["a"] == "assault" and labels["c"] == "smoke"


def test_unknown_choice_names_the_task(review_root):
    path = review_root / "bad.json"
    export = [
        {
            "id": 7,
            "data": {"svta_id": "a"},
            "annotations": [
                {"result": [{"type": "choices", "from_name": "category", "value": {"choices": ["Fightclub"]}}]}
            ],
        }
    ]
    path.write_text(json.dumps(export))
    with pytest.raises(InputError, match=r"task 7.*'Fightclub'"):
        import_label_studio(review_root, path)
    path.write_text(json.dumps([{"id": 8, "data": {"svta_id": "zzz"}, "annotations": []}]))
    assert import_label_studio(review_root, path).n_imported == 0  # unanswered: nothing to check
    path.write_text(json.dumps([{"id": 9, "data": {}, "annotations": []}]))
    with pytest.raises(InputError, match="task 9.*svta_id"):
        import_label_studio(review_root, path)
    path.write_text(json.dumps([{"id": 10, "data": {"svta_id": "zzz"}, "category": "smoke"}]))
    with pytest.raises(InputError, match="task 10.*'zzz' is not a caption"):
        import_label_studio(review_root, path)
    assert read_records(table_path(review_root, "labels"), "labels")[0]["reviewed"] is False  # nothing written


def _rewrite(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_round_trip(review_root):
    n, path = export_review_csv(review_root, prefill=True)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert n == 4 and [r["id"] for r in rows] == ["a", "b", "c", "d"]
    assert rows[0]["category"] == "fighting" == rows[0]["predicted"] and rows[2]["category"] == ""
    assert [r["prefilled"] for r in rows] == ["yes", "yes", "", "yes"]
    rows[0]["confirmed"] = "x"  # the reviewer looked and agrees
    rows[1]["category"] = "walking"  # corrected
    rows[2]["category"] = "Smoke"  # filled in; names are matched case-insensitively
    _rewrite(path, rows)  # d stays as prefilled: nobody looked at it
    result = import_review_csv(review_root, path)
    assert (result.n_imported, result.n_skipped, result.n_unconfirmed) == (3, 1, 1)
    labels = {row["id"]: row for row in read_records(table_path(review_root, "labels"), "labels")}
    assert labels["c"]["category"] == "smoke" and all(labels[i]["reviewed"] for i in "abc")
    assert "d" not in labels  # still only the caption's own category, unreviewed
    # c had no automatic answer (needs_review); a agrees, b was corrected
    assert result.agreement.n == 2 and result.agreement.accuracy == pytest.approx(1 / 2)


def test_csv_prefill_untouched_is_not_reviewed(review_root):
    _, path = export_review_csv(review_root, prefill=True)
    result = import_review_csv(review_root, path)
    assert (result.n_imported, result.n_unconfirmed) == (0, 3)
    assert not any(row["reviewed"] for row in read_records(table_path(review_root, "labels"), "labels"))
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[3]["confirmed"] = "yes"
    rows[3]["category"] = ""  # confirmed with a blank category: the prediction is taken
    _rewrite(path, rows)
    result = import_review_csv(review_root, path)
    labels = {row["id"]: row for row in read_records(table_path(review_root, "labels"), "labels")}
    assert result.n_imported == 1 and labels["d"]["category"] == "explosion" and labels["d"]["reviewed"]


def test_verdicts_leave_clips_out_of_the_build(review_root):
    from svta.build.manifest import resolve_category

    tasks = json.loads(export_label_studio(review_root).tasks_path.read_text())
    path = review_root / "export.json"
    path.write_text(json.dumps(label_studio_export(tasks, {"a": "Unusable clip", "b": "Not an anomaly"})))
    result = import_label_studio(review_root, path)
    assert result.n_imported == 2 and result.n_excluded == 2 and result.agreement is None
    labels = {row["id"]: row for row in read_records(table_path(review_root, "labels"), "labels")}
    assert (labels["a"]["category"], labels["a"]["reviewed"]) == ("unusable", True)
    assert labels["b"]["category"] == "not_anomaly" and labels["b"]["is_anomaly"] is False
    taxonomy = default_taxonomy()
    assert resolve_category({"id": "a", "category": "fighting"}, labels["a"], taxonomy) == "reviewer: unusable"
    assert resolve_category({"id": "b"}, labels["b"], taxonomy) == "reviewer: not_anomaly"
    sheet = review_root / "sheet.csv"
    sheet.write_text("id,category\nc,unusable clip\n")
    assert import_review_csv(review_root, sheet).n_excluded == 1


def test_csv_blank_rows_are_not_imported(review_root):
    n, path = export_review_csv(review_root, review_root / "blank.csv")  # no prefill: category starts blank
    result = import_review_csv(review_root, path)
    assert n == 4 and (result.n_rows, result.n_imported, result.n_skipped) == (4, 0, 4) and result.agreement is None


def test_csv_unknown_category_names_the_line(review_root):
    path = review_root / "sheet.csv"
    path.write_text("id,category\na,fighting\nb,not a category\n")
    with pytest.raises(InputError, match=r"line 3 \(id 'b'\).*'not a category'"):
        import_review_csv(review_root, path)
    path.write_text("id,label\na,fighting\n")
    with pytest.raises(InputError, match="missing column"):
        import_review_csv(review_root, path)


def test_labeling_config_escapes_names():
    from svta.taxonomy import Taxonomy

    records = [
        {
            "id": "a_b",
            "name": 'a "quoted" & <b>',
            "kind": "anomaly",
            "group": "g",
            "description": "d",
            "synonyms": ["x"],
        }
    ]
    xml = labeling_config(Taxonomy.from_records(records))
    assert ET.fromstring(xml).find("Choices/Choice").get("value") == 'a "quoted" & <b>'


class FakeLabelStudio(BaseHTTPRequestHandler):
    """Label Studio's REST API as svta uses it, checking each request the way the real server does:
    JWT refresh for personal access tokens, an authorised ``POST /api/projects`` with a parsable
    labelling config, ``POST /api/storages/localfiles`` with an absolute path below the document root,
    and ``POST /api/projects/<id>/import`` with a list of tasks that each hold ``data``."""

    pat = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
    legacy = "0123456789abcdef0123456789abcdef01234567"
    # the account `label-studio start --username --password` creates; Label Studio 1.2x logs in by e-mail
    user, password = "reviewer@example.com", "s3cret pass"
    document_root: Path
    refuse_storage = False
    has_token = False  # the account already holds a personal access token: POST /api/token/ answers 409
    log: list

    def log_message(self, *args):
        pass

    def _reply(self, status, payload=None, cookies=(), location=None):
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for cookie in cookies:
            self.send_header("Set-Cookie", f"{cookie}; Path=/")
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _cookies(self):
        pairs = (part.strip().split("=", 1) for part in (self.headers.get("Cookie") or "").split(";") if "=" in part)
        return dict(pairs)

    def _session(self):
        """Django's session authentication: the session cookie, and for unsafe methods the CSRF header
        matching the (rotated) CSRF cookie."""
        cookies = self._cookies()
        return (
            cookies.get("sessionid") == "session-1"
            and self.headers.get("X-CSRFToken") == cookies.get("csrftoken") == "csrf-after-login"
        )

    def _authorised(self):
        return self.headers.get("Authorization") in ("Bearer access-1", f"Token {self.legacy}") or self._session()

    def do_GET(self):
        self.log.append(("GET", self.path, self.headers.get("Authorization"), None))
        if self.path == "/user/login/":
            page = b'<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="form-csrf-1"></form>'
            self.send_response(200)
            self.send_header("Set-Cookie", "csrftoken=csrf-before-login; Path=/")
            self.send_header("Set-Cookie", "sessionid=anonymous; Path=/")  # as Label Studio does for visitors
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            return self.wfile.write(page)
        self._reply(200, {})  # where the login redirects to

    def _login(self):
        import urllib.parse

        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()))
        self.log.append(("POST", self.path, None, {k: v for k, v in form.items() if k != "password"}))
        if self._cookies().get("csrftoken") != "csrf-before-login" or form.get("csrfmiddlewaretoken") != "form-csrf-1":
            return self._reply(403, {"detail": "CSRF verification failed. Request aborted."})
        if (form.get("email"), form.get("password")) != (self.user, self.password):
            return self._reply(200, {"form": "invalid"})  # the login page again, still anonymous
        return self._reply(302, cookies=("sessionid=session-1", "csrftoken=csrf-after-login"), location="/")

    def do_DELETE(self):
        self.log.append(("DELETE", self.path, self.headers.get("Authorization"), None))
        self._reply(204 if self._authorised() else 401)

    def do_POST(self):
        if self.path == "/user/login/":
            return self._login()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        self.log.append(("POST", self.path, self.headers.get("Authorization"), body))
        if self.path == "/api/token/":
            if not self._session():
                return self._reply(401, {"detail": "Authentication credentials were not provided."})
            if self.has_token:
                return self._reply(409, {"detail": "You already have a valid token. Please revoke it first."})
            return self._reply(201, {"token": self.pat})
        if self.path == "/api/token/refresh":
            ok = body == {"refresh": self.pat}
            return self._reply(200 if ok else 401, {"access": "access-1"} if ok else {"detail": "Token is invalid"})
        if not self._authorised():
            return self._reply(401, {"detail": "Authentication credentials were not provided."})
        if self.path == "/api/projects":
            ET.fromstring(body["label_config"])  # the real server validates the XML too
            return self._reply(201, {"id": 7, "title": body["title"]})
        if self.path == "/api/storages/localfiles":
            path = Path(body["path"])
            if self.refuse_storage or not path.is_absolute() or self.document_root not in (path, *path.parents):
                return self._reply(
                    400,
                    {
                        "status_code": 400,
                        "detail": "Validation error",
                        "validation_errors": {
                            "non_field_errors": [
                                f'Absolute local path "{path}" must be a subdirectory of '
                                f'LOCAL_FILES_DOCUMENT_ROOT="{self.document_root}"'
                            ]
                        },
                    },
                )
            return self._reply(201, {"id": 3, "type": "localfiles", "project": body["project"], "path": str(path)})
        if self.path == "/api/projects/7/import":
            assert isinstance(body, list) and all("data" in task for task in body)
            predictions = sum(len(task.get("predictions", [])) for task in body)
            return self._reply(201, {"task_count": len(body), "annotation_count": 0, "prediction_count": predictions})
        self._reply(404, {"detail": "Not found."})


@pytest.fixture
def label_studio(review_root):
    handler = type("Handler", (FakeLabelStudio,), {"document_root": review_root.resolve(), "log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_export_creates_project_storage_and_tasks_through_the_api(review_root, label_studio):
    handler, url = label_studio
    result = export_label_studio(review_root, labelstudio_url=url, token=handler.pat, project_title="clips")
    calls = [(method, path) for method, path, _, _ in handler.log]
    assert calls == [
        ("POST", "/api/token/refresh"),
        ("POST", "/api/projects"),
        ("POST", "/api/storages/localfiles"),
        ("POST", "/api/projects/7/import"),
    ]
    assert all(auth == "Bearer access-1" for _, _, auth, _ in handler.log[1:])
    project, storage, tasks = (entry[3] for entry in handler.log[1:])
    assert project["title"] == "clips" and project["label_config"] == result.config_path.read_text()
    assert storage["project"] == 7 and storage["path"] == str((review_root / "videos").resolve())
    assert storage["use_blob_urls"] is True
    assert tasks == json.loads(result.tasks_path.read_text())
    assert result.project == {
        "id": 7,
        "url": f"{url}/projects/7/data",
        "storage_id": 3,
        "n_tasks": 4,
        "clips_dir": storage["path"],
    }


def test_legacy_token_and_refused_storage(review_root, label_studio):
    from svta.errors import BackendError

    handler, url = label_studio
    handler.refuse_storage = True
    with pytest.raises(
        BackendError,
        match=r'localfiles: HTTP 400: Absolute local path ".*" must be a subdirectory '
        r"of LOCAL_FILES_DOCUMENT_ROOT.*LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true",
    ):
        export_label_studio(review_root, labelstudio_url=url, token=handler.legacy)
    assert handler.log[0][2] == f"Token {handler.legacy}"
    assert handler.log[-1][:2] == ("DELETE", "/api/projects/7")  # no half-made project left behind
    with pytest.raises(BackendError, match="refresh: HTTP 401: Token is invalid; use a personal access token"):
        export_label_studio(review_root, labelstudio_url=url, token="eyJx.eyJy.wrong")
    with pytest.raises(InputError, match="--token .*--labelstudio-username"):
        export_label_studio(review_root, labelstudio_url=url)


def test_review_export_command_creates_the_project(review_root, label_studio, capsys, monkeypatch):
    from svta.cli.main import main

    handler, url = label_studio
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", handler.pat)
    code = main(
        [
            "annotate",
            "review-export",
            "--root",
            str(review_root),
            "--labelstudio-url",
            url,
            "--project-title",
            "from the CLI",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["project"]["id"] == 7 and out["framerate"] == 8
    assert handler.log[1][3]["title"] == "from the CLI"
    assert (
        main(["annotate", "review-export", "--root", str(review_root), "--labelstudio-url", url, "--token", "0" * 40])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "POST /api/projects: HTTP 401" in err[0] and "personal access token" in err[0]


def test_export_logs_in_and_creates_a_personal_access_token(review_root, label_studio):
    handler, url = label_studio
    result = export_label_studio(
        review_root, labelstudio_url=url, username=handler.user, password=handler.password, project_title="t"
    )
    calls = [(method, path) for method, path, _, _ in handler.log]
    assert calls[:5] == [
        ("GET", "/user/login/"),
        ("POST", "/user/login/"),
        ("GET", "/"),
        ("POST", "/api/token/"),
        ("POST", "/api/token/refresh"),
    ]
    assert handler.log[1][3] == {"email": handler.user, "csrfmiddlewaretoken": "form-csrf-1"}
    assert handler.log[4][3] == {"refresh": handler.pat}
    assert all(auth == "Bearer access-1" for _, _, auth, _ in handler.log[5:]) and len(handler.log) == 8
    assert result.project["id"] == 7 and result.tasks_path.exists()


def test_an_account_that_holds_a_token_works_through_its_session(review_root, label_studio):
    handler, url = label_studio
    handler.has_token = True
    result = export_label_studio(review_root, labelstudio_url=url, username=handler.user, password=handler.password)
    assert result.project["n_tasks"] == 4
    assert [path for _, path, auth, _ in handler.log[4:]] == [
        "/api/projects",
        "/api/storages/localfiles",
        "/api/projects/7/import",
    ]


def test_a_wrong_password_is_one_line_and_writes_nothing(review_root, label_studio, capsys, monkeypatch):
    from svta.cli.main import main

    handler, url = label_studio
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", "wrong")
    argv = ["annotate", "review-export", "--root", str(review_root), "--labelstudio-url", url]
    assert main([*argv, "--labelstudio-username", handler.user]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"login as '{handler.user}' failed" in err[0]
    assert not (review_root / "review").exists()
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", handler.password)
    assert main([*argv, "--labelstudio-username", handler.user, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["project"]["id"] == 7


def test_a_refused_label_studio_leaves_no_files(review_root, label_studio):
    from svta.errors import BackendError

    handler, url = label_studio
    with pytest.raises(BackendError, match="HTTP 401"):
        export_label_studio(review_root, labelstudio_url=url, token="0" * 40)
    handler.refuse_storage = True
    with pytest.raises(BackendError, match="localfiles: HTTP 400"):
        export_label_studio(review_root, labelstudio_url=url, token=handler.pat)
    assert not (review_root / "review").exists()
    with pytest.raises(InputError, match="go together"):
        export_label_studio(review_root, labelstudio_url=url, username=handler.user)
