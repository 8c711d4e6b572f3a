"""Ticket codes: signed, personal-data-free, QR-friendly; issued at registration, read at the door.

A code is base32 (the QR alphanumeric alphabet, no padding) of

    version (1 byte) | registration id (4 bytes) | event id (4 bytes) | Ed25519 signature (64 bytes)

signed with the event's own key. Event keys are derived from the service's master
signing key with HKDF, so nothing per event is stored and each event's public key
can be published for offline verification at the door. A code that fails its
signature is *forged*, never *not found*: the server reveals nothing about ids.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CODE_VERSION = 1
_PAYLOAD = struct.Struct(">BII")
_SIGNATURE_BYTES = 64
_CODE_BYTES = _PAYLOAD.size + _SIGNATURE_BYTES
# Domain separation: a signature over a ticket can never be valid for anything else.
_SIGNING_CONTEXT = b"events-service/ticket/v1|"
MAX_CODE_LENGTH = 200
_BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class CodeError(ValueError):
    """The text is not a valid ticket code."""

    reason = "malformed"


class MalformedCode(CodeError):
    reason = "malformed"


class ForgedCode(CodeError):
    reason = "forged"


@dataclass(frozen=True)
class TicketClaims:
    registration_id: int
    event_id: int


@lru_cache(maxsize=4096)
def event_private_key(master_key: bytes, event_id: int) -> Ed25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"events-service/event-key",
        info=f"event:{event_id}".encode(),
    ).derive(master_key)
    return Ed25519PrivateKey.from_private_bytes(seed)


@lru_cache(maxsize=4096)
def event_public_key(master_key: bytes, event_id: int) -> Ed25519PublicKey:
    return event_private_key(master_key, event_id).public_key()


def event_public_key_bytes(master_key: bytes, event_id: int) -> bytes:
    return event_public_key(master_key, event_id).public_bytes(Encoding.Raw, PublicFormat.Raw)


def issue_code(master_key: bytes, registration_id: int, event_id: int) -> str:
    payload = _PAYLOAD.pack(CODE_VERSION, registration_id, event_id)
    signature = event_private_key(master_key, event_id).sign(_SIGNING_CONTEXT + payload)
    return base64.b32encode(payload + signature).decode("ascii").rstrip("=")


def normalise_code(text: str) -> str:
    """What a scanner or a keyboard wedge typed, as the canonical code."""
    return "".join(text.split()).upper().rstrip("=")


def read_code(master_key: bytes, text: str) -> TicketClaims:
    """The claims of a genuine code; MalformedCode or ForgedCode otherwise."""
    code = normalise_code(text)
    if not code or len(code) > MAX_CODE_LENGTH:
        raise MalformedCode("not a ticket code")
    try:
        raw = base64.b32decode(code + "=" * (-len(code) % 8))
    except (binascii.Error, ValueError):
        raise MalformedCode("not a ticket code") from None
    if len(raw) != _CODE_BYTES:
        raise MalformedCode("not a ticket code")
    # The last character carries spare bits that decoding ignores; only the canonical
    # spelling is a code, so that no changed character ever still reads as the ticket.
    spare_bits = len(code) * 5 - len(raw) * 8
    if _BASE32_ALPHABET.index(code[-1]) & ((1 << spare_bits) - 1):
        raise MalformedCode("not a ticket code")
    payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    version, registration_id, event_id = _PAYLOAD.unpack(payload)
    # The signature covers the version byte too: an edited version is a forgery,
    # and only a genuine code of a version we do not read is "unknown".
    try:
        event_public_key(master_key, event_id).verify(signature, _SIGNING_CONTEXT + payload)
    except InvalidSignature:
        raise ForgedCode("signature does not match") from None
    if version != CODE_VERSION:
        raise MalformedCode(f"unknown code version {version}")
    return TicketClaims(registration_id=registration_id, event_id=event_id)


SHORT_CODE_LENGTH = 6
_SHORT_CONTEXT = b"events-service/short-code|"
# Typed by attendees at the kiosk: the digits people mistake for letters read as them.
_TYPED = str.maketrans({"0": "O", "1": "I", "8": "B"})


def short_code(code: str) -> str:
    """The 6-character code printed beside the QR in the ticket e-mail and on the
    ticket page, typed with the e-mail address at the kiosk. Derived from the ticket
    code (which only the service can sign), so nothing is stored; 30 bits, behind a
    rate limit and the e-mail address."""
    digest = hashlib.sha256(_SHORT_CONTEXT + normalise_code(code).encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:SHORT_CODE_LENGTH]


def normalise_short_code(text: str) -> str:
    return "".join(text.split()).upper().replace("-", "").translate(_TYPED)
