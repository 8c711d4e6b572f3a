"""The SMTP sender against a real server with STARTTLS, implicit TLS and AUTH."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from events_service.settings import Settings, SettingsError
from notifications.senders import FileSender, SmtpSender, sender_from_url
from tests.mail_server import smtp_server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield cert_file, key_file


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def authenticate(server: object, session: object, envelope: object, mechanism: str, data: object):
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    # handled=False: the server itself answers 235 or 535.
    return AuthResult(success=ok, handled=False)


def a_message(to: str = "someone@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "events@localhost"
    message["To"] = to
    message["Subject"] = "Hello"
    message["Message-ID"] = "<test-1@localhost>"
    message.set_content("Hello over TLS")
    return message


async def test_starttls_with_login_delivers(certificate: tuple[Path, Path]) -> None:
    with smtp_server(
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    ) as (mailbox, url):
        port = url.rsplit(":", 1)[1].split("?")[0]
        sender = sender_from_url(
            f"smtp+starttls://mailer:s3cret@127.0.0.1:{port}?cafile={certificate[0]}"
        )
        await sender.send(a_message())
        await sender.send(a_message("second@example.org"))  # on the kept-open connection
        await sender.close()
        assert [m["To"] for m in mailbox.messages] == ["someone@example.org", "second@example.org"]

        wrong = sender_from_url(
            f"smtp+starttls://mailer:nope@127.0.0.1:{port}?cafile={certificate[0]}"
        )
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await wrong.send(a_message())
        # A certificate nobody vouches for is refused, not silently accepted.
        untrusted = sender_from_url(f"smtp+starttls://mailer:s3cret@127.0.0.1:{port}")
        with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError)):
            await untrusted.send(a_message())
        assert len(mailbox.messages) == 2


async def test_implicit_tls_delivers(certificate: tuple[Path, Path]) -> None:
    with smtp_server(ssl_context=server_tls(certificate)) as (mailbox, url):
        port = url.rsplit(":", 1)[1].split("?")[0]
        sender = sender_from_url(f"smtps://127.0.0.1:{port}?cafile={certificate[0]}")
        assert isinstance(sender, SmtpSender)
        await sender.send(a_message())
        await sender.close()
        assert len(mailbox.messages) == 1


def test_sender_urls_are_checked(tmp_path: Path) -> None:
    assert isinstance(sender_from_url(f"file://{tmp_path}"), FileSender)
    with pytest.raises(ValueError, match="smtp://"):
        sender_from_url("http://mail.example.org")
    with pytest.raises(ValueError, match="no host"):
        sender_from_url("smtp://")


def test_the_in_app_worker_switch_reads_true_and_false(tmp_path: Path) -> None:
    DATA_DIR = str(tmp_path)
    env = {"EVENTS_OUTBOX_WORKER_IN_APP": "false"}
    assert Settings.from_env(env | {"EVENTS_DATA_DIR": DATA_DIR}).outbox_worker_in_app is False
    assert Settings.from_env({"EVENTS_DATA_DIR": DATA_DIR}).outbox_worker_in_app is True
    with pytest.raises(SettingsError, match="EVENTS_OUTBOX_WORKER_IN_APP"):
        Settings.from_env({"EVENTS_OUTBOX_WORKER_IN_APP": "maybe", "EVENTS_DATA_DIR": DATA_DIR})
