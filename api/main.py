"""Run the HTTP API: ``flashsale-api`` (port from ``FLASHSALE_API_PORT``)."""

from __future__ import annotations

import logging

import uvloop
from aiohttp import web

from api.app import create_app
from streams.settings import Settings, SettingsError


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env()
        app = create_app(settings)
    except SettingsError as exc:
        raise SystemExit(f"flashsale-api: {exc}") from None
    web.run_app(
        app,
        host="127.0.0.1",
        port=settings.api_port,
        access_log=None,
        loop=uvloop.new_event_loop(),
        print=lambda line: logging.getLogger("api").info(line),
    )


if __name__ == "__main__":
    main()
