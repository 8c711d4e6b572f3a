"""QR images of ticket codes: PNG for mail and screens, SVG for print."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(code: str) -> qrcode.QRCode:
    # Medium error correction survives a scuffed phone screen; the code is
    # base32, so the QR uses alphanumeric mode and stays small.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    return qr


# A ticket's image is asked for again and again (the ticket page, the door, each
# mail); choosing the best mask makes a render cost several milliseconds.
@lru_cache(maxsize=4096)
def qr_png(code: str) -> bytes:
    buffer = io.BytesIO()
    _qr(code).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(code: str) -> str:
    image = _qr(code).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


def qr_matrix(code: str) -> list[list[bool]]:
    """The same QR's modules (quiet zone included), for drawing it elsewhere (the badge
    sheet's PDF): the same symbol as the PNG and the SVG."""
    return _qr(code).get_matrix()
