"""Local services the tests start themselves (importable as ``servers``: pythonpath = tests): an HTTP receiver
recording every POST (webhooks, robots) and an SMTP server keeping every message (aiosmtpd), each in a thread.
Used by the alerts channels/run tests and the report e-mail test."""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A local HTTP receiver (http.server in a thread) recording every POST. ``mode``: ok | 500 | slow | robot_error;
    ``fail_first``: answer 500 to the first N requests, then ``ok``."""

    def __init__(self, mode: str = "ok", *, fail_first: int = 0, delay: float = 2.0, answer: dict | None = None):
        self.mode, self.fail_first, self.delay = mode, fail_first, delay
        self.answer = answer if answer is not None else {"errcode": 0, "errmsg": "ok"}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "body": json.loads(body.decode("utf-8"))})
                    n = len(outer.requests)
                if outer.mode == "slow":
                    time.sleep(outer.delay)
                if outer.mode == "500" or n <= outer.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                data = json.dumps(outer.answer if outer.mode != "robot_error" else
                                  {"errcode": 310000, "errmsg": "sign not match"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SMTPSink:
    """A local SMTP server (aiosmtpd in a thread) keeping every message. ``security``: none | starttls | ssl;
    with TLS a self-signed certificate for 127.0.0.1 is made (``cert_file`` to trust it); ``login``: (user, pw)."""

    def __init__(self, tmp: Path, security: str = "none", login: tuple[str, str] | None = None, reject: bool = False):
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                import email
                import email.policy

                if reject:
                    outer.messages.append(None)
                    return "554 5.7.1 message rejected"
                outer.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                                   policy=email.policy.default)))
                return "250 OK"

        kwargs: dict = {}
        self.cert_file = None
        if security != "none":
            self.cert_file, key_file = _self_signed(tmp)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert_file, key_file)
            kwargs["ssl_context" if security == "ssl" else "tls_context"] = ctx
            if security == "starttls":
                kwargs["require_starttls"] = True
        if login:
            def auth(server, session, envelope, mechanism, data):
                ok = (data.login.decode(), data.password.decode()) == login
                return AuthResult(success=ok)
            # with implicit TLS (ssl) aiosmtpd does not see the session as TLS: it must not require STARTTLS
            kwargs.update(authenticator=auth, auth_required=True, auth_require_tls=security == "starttls")
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def _self_signed(tmp: Path) -> tuple[str, str]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
