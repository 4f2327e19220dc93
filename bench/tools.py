"""The bench's outside tools, installed when missing: ``wrk`` (Debian package)."""

from __future__ import annotations

from ops.services import ensure_command


def ensure_tools() -> None:
    ensure_command("wrk", "wrk")
