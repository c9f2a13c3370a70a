"""Posting batches to the gateway over HTTP (``adafruit_requests`` or CPython ``requests``).

The miner only needs ``net.post(batch_dict) -> (status_code, body_text)`` that raises
``OSError`` when the gateway cannot be reached; this adapter gives that shape to any
session with the ``requests`` API.
"""

ACCEPTED = "accepted"
RETRY = "retry"
REJECTED = "rejected"


def classify(status):
    """What an HTTP status means for a posted batch.

    2xx: ``accepted`` (the gateway took it; a duplicate of an accepted batch should get a
    2xx too). 408, 425, 429 and 5xx: ``retry`` later. Any other status: ``rejected``.
    """
    if 200 <= status < 300:
        return ACCEPTED
    if status in (408, 425, 429) or status >= 500:
        return RETRY
    return REJECTED


class HttpNet:
    """POST JSON to ``base_url + path`` with ``session`` (``session.post(url, json=...)``)."""

    def __init__(self, session, base_url, path="/batches", timeout=15):
        self.session = session
        self.url = base_url.rstrip("/") + path
        self.timeout = timeout

    def post(self, obj):
        """Send ``obj``; return ``(status_code, body_text)``; ``OSError`` if unreachable."""
        try:
            response = self.session.post(self.url, json=obj, timeout=self.timeout)
        except OSError:
            raise
        except Exception as exc:  # adafruit_requests and requests raise their own kinds
            raise OSError("net: %s" % exc) from exc
        try:
            return response.status_code, response.text
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
