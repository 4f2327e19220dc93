"""``api/openapi.yaml`` matches the app: same routes, and schemathesis finds no 5xx and
no response outside the documented schemas, against the live API and real servers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

import api
from api.app import create_app
from kit.processes import ManagedProcess
from streams.settings import Settings
from tests.support.http import call

pytestmark = pytest.mark.integration

SPEC = Path(api.__file__).parent / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}
# Operations this run covers; orders need a worker and have their own tests.
TAGS = ["ops", "auth", "products", "admin"]
EXAMPLES_PER_OPERATION = 50


def documented_routes() -> set[tuple[str, str]]:
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops if m in METHODS}


def test_every_route_is_documented_and_vice_versa(base_settings: Settings) -> None:
    app = create_app(base_settings)
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert registered == documented_routes()


async def test_served_document_is_the_file(
    fresh_settings: Settings, api_factory: Callable[..., tuple[ManagedProcess, str]]
) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http, http.get(f"{base}/openapi.yaml") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/yaml"
        assert await resp.text() == SPEC.read_text()


def fuzz(base: str, token: str, mode: GenerationMode) -> None:
    schema = (
        schemathesis.openapi.from_path(SPEC)
        .include(tag=TAGS)
        .exclude(
            operation_id="logoutAll"  # it would revoke the token the run is using
        )
    )
    checks = [not_a_server_error, response_schema_conformance]
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            response = case.call(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            case.validate_response(response, checks=checks)

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid: an operation without parameters or a body.
            assert mode == GenerationMode.NEGATIVE, operation.label


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    fresh_settings: Settings, api_factory: Callable[..., tuple[ManagedProcess, str]]
) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        login = {"email": fresh_settings.admin_email, "password": fresh_settings.admin_password}
        status, pair = await call(http, "POST", f"{base}/auth/login", body=login)
        assert status == 200
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        fuzz(base, pair["access_token"], mode)
