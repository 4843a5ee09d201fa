import logging

import pytest

from core.logs import RedactSecrets

TOKEN = "123456:SECRET-token-value"


def test_secrets_are_redacted_from_messages_args_and_tracebacks() -> None:
    """A secret in a message, in its arguments or in an exception text never reaches output."""
    logger = logging.getLogger("redaction-test")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactSecrets([TOKEN]))
    logger.addHandler(handler)
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        try:
            raise RuntimeError(f"bad url bot{TOKEN}/x")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records[0] == "POST https://api.telegram.org/bot***/getUpdates"
    assert TOKEN not in "\n".join(records)
    assert "RuntimeError: bad url bot***/x" in records[1]


@pytest.mark.parametrize("short", ["", "abc"])
def test_short_values_are_not_treated_as_secrets(short: str) -> None:
    """Empty or tiny values would redact half of every line; they are ignored."""
    assert RedactSecrets([short]).secrets == []
