"""The OpenAPI contract is what clients get: schemathesis (Python API) with every check, positive and
negative data, against the live service over loopback on both databases, bounded by examples only.

Two configurations: uploads (``/search/image``, ``/describe``) may refuse schema-valid bytes
with 400/413/415/422, because "a decodable image" is not something OpenAPI can state about a binary
field; searches (``/search``, ``/search/vector``, ``/observations/{ref}/similar``) may answer 422
or 409 to schema-valid input that is not a place or a time (``dec=-95:00:00``, an unknown name in
``near``, ``b`` without ``l``, ``start`` after ``end``) or a vector for another index version,
which no OpenAPI schema can state either. Every other operation must accept what its schema allows."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

EXAMPLES = 25
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all"},
        "operations": [
            {
                "include-path-regex": r"^/api/v1/(search/image|describe)$",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "404", "413", "415", "422", "429", "503"]
                    }
                },
            },
            {
                "include-path-regex": r"^/api/v1/(search|search/vector|observations/\{ref\}/similar)$",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "300", "404", "409", "422", "429", "503"]
                    }
                },
            },
        ],
    }
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_schemathesis_with_every_check_finds_nothing(live, mode):
    schema = schemathesis.openapi.from_url(f"{live.server.base}/openapi.json", config=CONFIG)
    load_all_checks()
    checks = CHECKS.get_all()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11  # every public operation, admin ones are not in the schema

    for operation in operations:
        takes_input = any(
            len(part)
            for part in (operation.path_parameters, operation.query, operation.headers, operation.body)
        )
        if mode == GenerationMode.NEGATIVE and not takes_input:
            continue  # nothing to send wrong to /health, /ready, /metrics

        @settings(
            max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            case.call_and_validate(checks=checks, timeout=120)

        run()
