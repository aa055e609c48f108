"""A webhook receiver for the tests, on the standard library only.

It answers like MLflow's own test receiver (``tests/webhooks/app.py`` of MLflow 3.10.1:
``/insecure-webhook``, ``/secure-webhook``, ``/flaky-webhook``, ``/rate-limited-webhook``, 404
elsewhere) and verifies signatures with the recipe of MLflow's webhook docs
(``docs/docs/classic-ml/webhooks/index.mdx``: ``verify_timestamp_freshness`` and
``verify_mlflow_signature``, copied below unchanged).

In-process: ``Receiver(secret)`` serves on a free port of 127.0.0.1 in a thread.
As a script: ``python webhook_receiver.py PORT SECRET LOG.jsonl`` serves on 127.0.0.1:PORT until
killed and appends one JSON line per request to LOG.jsonl (the restart test in
``tests/e2e/webhooks.rs`` uses this).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Maximum allowed age for webhook timestamps (in seconds)
MAX_TIMESTAMP_AGE = 300  # 5 minutes


def verify_timestamp_freshness(timestamp_str: str, max_age: int = MAX_TIMESTAMP_AGE) -> bool:
    """Verify that the webhook timestamp is recent enough to prevent replay attacks"""
    try:
        webhook_timestamp = int(timestamp_str)
        current_timestamp = int(time.time())
        age = current_timestamp - webhook_timestamp
        return 0 <= age <= max_age
    except (ValueError, TypeError):
        return False


def verify_mlflow_signature(
    payload: str, signature: str, secret: str, delivery_id: str, timestamp: str
) -> bool:
    """Verify the HMAC signature from MLflow webhook"""
    # Extract the base64 signature part (remove 'v1,' prefix)
    if not signature.startswith("v1,"):
        return False

    signature_b64 = signature.removeprefix("v1,")
    # Reconstruct the signed content: delivery_id.timestamp.payload
    signed_content = f"{delivery_id}.{timestamp}.{payload}"
    # Generate expected signature
    expected_signature = hmac.new(
        secret.encode("utf-8"), signed_content.encode("utf-8"), hashlib.sha256
    ).digest()
    expected_signature_b64 = base64.b64encode(expected_signature).decode("utf-8")
    return hmac.compare_digest(signature_b64, expected_signature_b64)


class Receiver:
    def __init__(self, secret: str, port: int = 0, log_path: str | None = None):
        self.secret = secret
        self.log_path = log_path
        self._lock = threading.Lock()
        self._logs: list[dict] = []
        self.reset()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, reply, extra = receiver._handle(self.path, dict(self.headers), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self._lock:
            self._logs.clear()
            self._flaky = itertools.count(1)
            self._rate_limited = itertools.count(1)

    @property
    def logs(self) -> list[dict]:
        with self._lock:
            return list(self._logs)

    def wait_for_logs(self, expected_count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            logs = self.logs
            if len(logs) >= expected_count:
                return logs
            time.sleep(0.05)
        raise TimeoutError(
            f"Timeout waiting for {expected_count} webhook logs. Got {len(self.logs)} logs "
            f"after {timeout}s timeout."
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _log(self, entry: dict) -> None:
        with self._lock:
            self._logs.append(entry)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(entry) + "\n")

    def _handle(self, path: str, headers: dict, body: bytes):
        headers = {k.lower(): v for k, v in headers.items()}
        entry = {
            "endpoint": path,
            "headers": headers,
            "delivery_id": headers.get("x-mlflow-delivery-id"),
            "payload": None,
            "status_code": 200,
            "error": None,
            "attempt": None,
            "verified": False,
        }

        def parsed():
            payload = json.loads(body)
            return payload, payload.get("data", payload)

        if path == "/insecure-webhook":
            entry["envelope"], entry["payload"] = parsed()
            self._log(entry)
            return 200, {"status": "received"}, {}
        if path == "/secure-webhook":
            signature = headers.get("x-mlflow-signature")
            timestamp = headers.get("x-mlflow-timestamp")
            delivery_id = headers.get("x-mlflow-delivery-id")
            error, status = None, 200
            if not signature:
                error, status = "Missing signature header", 400
            elif not delivery_id:
                error, status = "Missing delivery ID header", 400
            elif not timestamp:
                error, status = "Missing timestamp header", 400
            elif not verify_timestamp_freshness(timestamp):
                error, status = "Timestamp is too old or invalid (possible replay attack)", 400
            elif not verify_mlflow_signature(
                body.decode("utf-8"), signature, self.secret, delivery_id, timestamp
            ):
                error, status = "Invalid signature", 401
            if error:
                entry.update(status_code=status, error=error)
                self._log(entry)
                return status, {"detail": error}, {}
            entry["verified"] = True
            entry["envelope"], entry["payload"] = parsed()
            self._log(entry)
            return 200, {"status": "received", "signature": "verified"}, {}
        if path == "/flaky-webhook":
            attempt = next(self._flaky)
            entry["envelope"], entry["payload"] = parsed()
            entry["attempt"] = attempt
            if attempt <= 2:
                entry.update(status_code=500, error="Server error (will retry)")
                self._log(entry)
                return 500, {"detail": "Internal server error"}, {}
            self._log(entry)
            return 200, {"status": "received", "attempt": attempt}, {}
        if path == "/rate-limited-webhook":
            attempt = next(self._rate_limited)
            entry["envelope"], entry["payload"] = parsed()
            entry["attempt"] = attempt
            if attempt == 1:
                entry.update(status_code=429, error="Rate limited")
                self._log(entry)
                return 429, "Rate limited", {"Retry-After": "2"}
            self._log(entry)
            return 200, {"status": "received", "attempt": attempt}, {}
        return 404, {"detail": "Not Found"}, {}


if __name__ == "__main__":
    port, secret, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    receiver = Receiver(secret, port=port, log_path=log_path)
    print(f"receiving on {receiver.url('/')}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
