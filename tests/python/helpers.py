"""Helpers shared by the python acceptance tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

MLTRACK_URL = os.environ.get("MLTRACK_URL", "").rstrip("/")
STRICT = os.environ.get("MLTRACK_STRICT", "") not in ("", "0", "false", "False")

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


# --------------------------------------------------------------------------- raw HTTP


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    method: str = ""
    target: str = ""
    _json: object = field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        """The body parsed as JSON, or None when it is not JSON."""
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8")) if self.body else None
            except (UnicodeDecodeError, ValueError):
                self._json = None
        return self._json

    @property
    def error_code(self):
        body = self.json()
        return body.get("error_code") if isinstance(body, dict) else None

    def describe(self) -> str:
        text = self.body[:400].decode("utf-8", "replace")
        return f"{self.method} {self.target[:200]} -> {self.status} {self.content_type} {text}"


def _auth_header() -> dict:
    """The credentials the mlflow client would send, from the same environment variables."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password is not None:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}
    if token:
        return {"Authorization": f"Bearer {token}"}
    return {}


class RawApi:
    """Raw HTTP against the server.

    Uses ``http.client`` rather than ``requests`` because urllib3 normalises dot
    segments (``a/../b`` becomes ``b``) before sending: the path-traversal cases must
    reach the server byte for byte.
    """

    def __init__(self, base_url: str):
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.https = parsed.scheme == "https"
        self.prefix = parsed.path.rstrip("/")

    def request(self, method, path, *, query=None, json_body=None, data=None,
                headers=None, content_type=None) -> Response:
        """Send one request.  ``path`` is sent exactly as given (no normalisation).

        ``json_body`` is serialised with Content-Type application/json unless
        ``content_type`` says otherwise; ``data`` (str or bytes) is sent as is.
        ``query`` is a dict or a list of pairs (repeat a key for repeated fields).
        """
        target = self.prefix + path
        hdrs = {**_auth_header(), **(headers or {})}
        if query:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query, doseq=True)
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", content_type or "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
            if content_type is not None:
                hdrs.setdefault("Content-Type", content_type)
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        elif method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = "0"
        # A new connection per request: with keep-alive, the reference server's
        # small writes meet the client's delayed ACK (Nagle) and every request
        # costs ~40 ms instead of ~5 ms on loopback.
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=60)
        try:
            conn.request(method, target, body=body, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                            payload, method, target)
        finally:
            conn.close()

    def close(self):
        """Nothing to release (one connection per request); kept for symmetry."""

    # ---- conveniences for the MLflow REST API (/api/2.0/mlflow/...)

    def get(self, endpoint, **query) -> Response:
        return self.request("GET", API + endpoint, query=query)

    def post(self, endpoint, body) -> Response:
        return self.request("POST", API + endpoint, json_body=body)

    def ok(self, method, endpoint, body=None, **query):
        """Call an endpoint that must succeed; return the parsed JSON body."""
        if method == "GET":
            r = self.get(endpoint, **query)
        else:
            r = self.request(method, API + endpoint, json_body=body if body is not None else {})
        assert r.status == 200, r.describe()
        parsed = r.json()
        return parsed if parsed is not None else {}


def wait_until_healthy(url: str, timeout: float = 60.0):
    api = RawApi(url)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = api.request("GET", "/health")
            if r.status == 200:
                api.close()
                return
            last = r.describe()
        except OSError as exc:  # not listening yet
            last = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(f"server at {url} not healthy after {timeout}s: {last}")
