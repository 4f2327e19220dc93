"""Schemathesis on the order operations of ``api/openapi.yaml``, against the live system.

Valid and invalid requests generated from the document (positive and negative
modes) for create, get, pay and cancel, with a real member's token, against a
real API and worker: no 5xx, no answer outside the documented schemas, and the
audit clean afterwards. (Stateful sequences need OpenAPI links, which the
document does not declare; the hand-written tests chain the operations.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

import api
from streams.settings import Settings
from tests.hostile.shop import Apis, Workers, audit_clean, open_shop

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

SPEC = Path(api.__file__).parent / "openapi.yaml"
EXAMPLES_PER_OPERATION = 60


def fuzz_orders(base: str, token: str, mode: GenerationMode) -> int:
    """Run every order operation's examples; how many requests were made."""
    schema = schemathesis.openapi.from_path(SPEC).include(tag="orders")
    checks = [not_a_server_error, response_schema_conformance]
    made = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid document fails here

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            nonlocal made
            auth = {"Authorization": f"Bearer {token}"}
            response = case.call(base_url=base, headers=auth, timeout=15)
            made += 1
            case.validate_response(response, checks=checks)

        try:
            run()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label
    return made


async def test_schemathesis_on_the_order_operations_finds_nothing(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    made = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        made += fuzz_orders(shop.base, shop.members[0].token, mode)
    assert made >= 4 * EXAMPLES_PER_OPERATION
    await audit_clean(shop)
