"""events-service: summits, registration, QR check-in, judging and programme counters."""

__version__ = "0.1.0"
