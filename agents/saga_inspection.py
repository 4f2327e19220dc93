"""The saga worker's web views: ``GET /metrics`` on its Faust web port (6166)."""

from __future__ import annotations

from faust.web import Request, Response, View
from prometheus_client import generate_latest

from agents.saga_metrics import saga_metrics
from streams.app import app


@app.page("/metrics")
async def saga_worker_metrics(web: View, request: Request) -> Response:
    text = generate_latest(saga_metrics().registry).decode()
    return web.text(text, content_type="text/plain; version=0.0.4")
