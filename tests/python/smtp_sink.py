"""An SMTP server for the monitoring tests, as a mail relay would be: STARTTLS on offer, AUTH
(LOGIN/PLAIN) accepted only after STARTTLS and only for one user, every message saved.

    python smtp_sink.py --out DIR --user USER --password PASSWORD [--implicit-tls]

It writes a self-signed certificate for ``localhost`` to ``DIR/cert.pem`` (the client trusts it
through ``SSL_CERT_FILE``), prints ``ready PORT`` once it listens, and saves each message as
``DIR/mail-NNNN.json``: sender, recipients, whether the session was encrypted and authenticated, the
subject and the plain-text body. With ``--implicit-tls`` it speaks TLS from the first byte (SMTPS,
``smtps://``) instead of offering STARTTLS. It stops when stdin closes, so it never outlives the test.
"""

from __future__ import annotations

import argparse
import datetime
import email
import email.policy
import itertools
import json
import pathlib
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(out: pathlib.Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (out / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(out / "cert.pem", out / "key.pem")
    return context


class Saver:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.numbers = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            # STARTTLS sets session.ssl; an SMTPS transport carries its TLS object from the start.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "subject": str(message["subject"]),
            "body": body.get_content() if body is not None else "",
        }
        path = self.out / f"mail-{next(self.numbers):04d}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(path)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = self_signed(args.out)
    tls = {"ssl_context": context} if args.implicit_tls else {"tls_context": context}
    controller = Controller(
        Saver(args.out),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        authenticator=authenticate,
        # aiosmtpd counts only STARTTLS as TLS for this rule; an SMTPS connection is encrypted from
        # its first byte, so the rule would only hide AUTH there.
        auth_require_tls=not args.implicit_tls,
        auth_required=True,
        **tls,
    )
    controller.start()
    print(f"ready {port}", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
