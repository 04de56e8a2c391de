"""Schema-driven fuzz of the whole HTTP API with Schemathesis, against the live service.

For every operation in the service's own /openapi.json, Schemathesis generates valid
(positive) and invalid (negative) requests, authenticated with real AgentToken and
InboxToken bearer tokens (negative cases may also drop or spoil them). Operations with ids
in their path are fuzzed twice: with generated ids (mostly unknown ones) and with the ids of
real rows, so the handlers behind the 404s are reached too. A small dictionary of awkward
strings (NUL, LIKE wildcards, quotes, whitespace-only…) is mixed into every free-form string
field of the schema. Every response must:

* never be a 5xx (`not_a_server_error`);
* have a documented status code, content type, headers and body schema (Schemathesis'
  conformance checks);
* for a 4xx, carry {"error": {"code", "message", "details"}}, and for a 401 a
  WWW-Authenticate challenge (`error_body_is_machine_readable` below);
* refuse invalid data with a 4xx (`negative_data_rejection`) and refuse a request whose
  valid credentials are removed or spoiled (`ignored_auth`).

The server runs in the test's event loop, so Hypothesis and Schemathesis' synchronous
`requests` transport run in a worker thread (`asyncio.to_thread`): a synchronous call from
the loop itself would deadlock. Generation is derandomized, so a CI failure reproduces
locally. THREADLINE_FUZZ_EXAMPLES=200 fuzzes harder; THREADLINE_FUZZ_VERBOSE=1 prints timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (  # type: ignore[attr-defined]
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup

from tests.support.live import PASSWORD, Live
from threadline.core.agents import Role

MAX_EXAMPLES = int(os.environ.get("THREADLINE_FUZZ_EXAMPLES", "30"))
# Cases per operation and mode with the ids of real rows in the path.
KNOWN_ID_EXAMPLES = max(5, MAX_EXAMPLES // 3)
# The agent-role pass mostly shows that refusals are well-formed; it can be smaller.
AGENT_ROLE_EXAMPLES = max(5, MAX_EXAMPLES // 2)
SEED = 20260302
VERBOSE = bool(os.environ.get("THREADLINE_FUZZ_VERBOSE"))
LOGOUT = "/api/v1/auth/logout"

Operation = schemathesis.APIOperation

# NUL (PostgreSQL text cannot hold it), LIKE wildcards and escapes, quotes, whitespace-only,
# case-folding and bidi surprises, non-BMP characters, control characters.
AWKWARD_STRINGS = [
    "\x00",
    "ab\x00cd",
    "%",
    "_",
    "\\",
    "' OR '1'='1",
    "   ",
    "\t\n",
    "İ",
    "ß",
    "\u202eevil",
    "😀",
    "\x1b[31m",
    "null",
    "general",
    "api",
]


# -- the project's own check -------------------------------------------------------


def error_body_is_machine_readable(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Every 4xx carries {"error": {"code": str, "message": str, "details": object}}."""
    status = response.status_code
    if not 400 <= status < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"a {status} body is {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict), f"the error body is not an object: {body!r}"
    assert set(body) == {"error"}, f"the error body is not {{'error': ...}}: {body!r}"
    error = body["error"]
    assert isinstance(error, dict), f"'error' is not an object: {body!r}"
    assert set(error) == {"code", "message", "details"}, f"wrong error keys: {body!r}"
    assert isinstance(error["code"], str), f"the code is not a string: {body!r}"
    assert error["code"], f"empty error code: {body!r}"
    assert isinstance(error["message"], str), f"the message is not a string: {body!r}"
    assert error["message"], f"empty error message: {body!r}"
    assert isinstance(error["details"], dict), f"'details' is not an object: {body!r}"
    if status == 401:
        assert response.headers.get("www-authenticate"), "a 401 needs a WWW-Authenticate header"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    error_body_is_machine_readable,
]


# -- running the fuzz --------------------------------------------------------------


@dataclass
class Finding:
    operation: str
    mode: str
    request: str
    status: int | None
    response: str
    problems: list[str]

    def __str__(self) -> str:
        problems = "\n".join(f"    - {p}" for p in self.problems)
        return (
            f"{self.operation} [{self.mode}] -> {self.status}\n"
            f"  request:  {self.request}\n"
            f"  response: {self.response[:500]}\n"
            f"  problems:\n{problems}"
        )


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(n for per_status in self.statuses.values() for n in per_status.values())

    def count(self, label: str, status: int) -> None:
        per_status = self.statuses.setdefault(label, {})
        per_status[status] = per_status.get(status, 0) + 1

    def answered(self, predicate: Callable[[int], bool]) -> int:
        return sum(
            n
            for per_status in self.statuses.values()
            for s, n in per_status.items()
            if predicate(s)
        )

    def summary(self) -> str:
        return "\n".join(
            f"  {label}: {dict(sorted(per_status.items()))}"
            for label, per_status in sorted(self.statuses.items())
        )


def describe(case: schemathesis.Case) -> str:
    """Enough of a generated request to replay it (the bearer token aside)."""
    parts = [f"{case.method.upper()} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if headers:
        parts.append(f"headers={headers!r}")
    if "authorization" not in {k.lower() for k in case.headers or {}}:
        parts.append("(no Authorization)")
    if case.media_type:
        parts.append(f"media_type={case.media_type}")
    if not isinstance(case.body, NotSet):
        parts.append(f"body={json.dumps(case.body, ensure_ascii=False, default=repr)[:1000]}")
    return " ".join(parts)


@dataclass
class Fuzzer:
    base_url: str
    session: requests.Session
    report: Report

    def fuzz(
        self,
        operation: Operation,
        mode: GenerationMode,
        examples: int,
        path_parameters: dict[str, str] | None = None,
    ) -> None:
        label = operation.label + (" (known ids)" if path_parameters else "")
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            # No shrinking: each finding is reported as drawn, and all of them are kept.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            self.send(label, mode, case)

        started = time.monotonic()
        try:
            run()
        except Unsatisfiable:
            # An operation without parameters or body cannot be made invalid.
            if mode is not GenerationMode.NEGATIVE:
                raise
        if VERBOSE:
            print(f"{label} {mode.value}: {time.monotonic() - started:.2f}s")

    def send(self, label: str, mode: GenerationMode, case: schemathesis.Case) -> None:
        try:
            response = case.call(base_url=self.base_url, session=self.session, timeout=10)
        except requests.RequestException as exc:
            self.report.findings.append(
                Finding(label, mode.value, describe(case), None, repr(exc), ["no response"])
            )
            return
        self.report.count(label, response.status_code)
        try:
            case.validate_response(
                response,
                checks=CHECKS,
                transport_kwargs={"base_url": self.base_url, "session": self.session},
            )
        except FailureGroup as group:
            problems = [f"{f.title}: {f.message}".strip() for f in group.exceptions]
            self.report.findings.append(
                Finding(
                    label, mode.value, describe(case), response.status_code, response.text, problems
                )
            )


def fuzz_api(
    spec: dict[str, Any],
    base_url: str,
    *,
    agent_token: str,
    inbox_token: str,
    visitor_token: str,
    known_ids: dict[str, str],
    examples: int,
    include: Callable[[Operation], bool],
) -> Report:
    """Fuzz every included operation in both modes; synchronous, so run it off the loop."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # Strings that have broken services before, mixed into every string field.
            "dictionaries": {"awkward": {"values": AWKWARD_STRINGS}},
            "parameters": {
                key: {"dictionary": "awkward", "probability": 0.15}
                for key in sorted(string_fields(spec))
            },
            "auth": {
                "openapi": {
                    "AgentToken": {"bearer": agent_token},
                    "InboxToken": {"bearer": inbox_token},
                    "VisitorToken": {"bearer": visitor_token},
                }
            },
        }
    )
    schema = schemathesis.openapi.from_dict(spec, config=config)
    report = Report()
    with requests.Session() as session:
        fuzzer = Fuzzer(base_url, session, report)
        for result in schema.get_all_operations():
            operation = result.ok()
            if not include(operation):
                continue
            names = [p.name for p in operation.path_parameters]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzzer.fuzz(operation, mode, examples)
                if names:
                    known = {name: known_ids[name] for name in names}
                    fuzzer.fuzz(operation, mode, KNOWN_ID_EXAMPLES, known)
    return report


def string_fields(spec: dict[str, Any]) -> set[str]:
    """Schemathesis parameter keys ("body.customer.name", "query.q"…) of every free-form
    string a client can send, found by walking the request schemas."""
    components = spec["components"]["schemas"]
    found: set[str] = set()

    def walk(schema: dict[str, Any], key: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], key, seen | {name})
            return
        for alternative in schema.get("anyOf", []) + schema.get("allOf", []):
            walk(alternative, key, seen)
        free_form = not {"enum", "const", "format"} & set(schema)
        if schema.get("type") == "string" and free_form and "." in key:
            found.add(key)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{key}.{name}", seen)
        if "items" in schema:
            walk(schema["items"], f"{key}[*]", seen)

    for operations in spec["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                walk(content["application/json"]["schema"], "body", frozenset())
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    walk(parameter["schema"], f"query.{parameter['name']}", frozenset())
    return found


def needs(scheme: str) -> Callable[[Operation], bool]:
    def include(operation: Operation) -> bool:
        requirements = operation.definition.raw.get("security", [])
        return any(scheme in requirement for requirement in requirements)

    return include


@dataclass
class Seeded:
    known_ids: dict[str, str]
    admin_token: str
    agent_token: str
    inbox_token: str
    visitor_token: str


async def seed(live: Live) -> Seeded:
    """Real rows for the known-id passes, and the tokens the fuzz uses."""
    admin = await live.agent("fuzz-admin", role=Role.ADMIN, online=False)
    agent = await live.agent("fuzz-agent", role=Role.AGENT)
    target = await live.agent("fuzz-target", online=False)
    inbox = await live.inbox("Fuzz")
    # The known-id pass rotates this one's token and reconfigures its widget.
    spare = await live.inbox("Spare", channel="web")
    said = await live.customer_says(inbox, "fuzz-customer", "Hello from the fuzz")
    assert said["assigned_agent_id"] == agent.id
    reply = await live.reply(agent, said["conversation_id"], "Hi!")
    canned = await live.http.post(
        "/api/v1/canned-responses",
        json={"shortcut": "hello", "text": "Hello! How can I help?"},
        headers=admin.headers,
    )
    assert canned.status_code == 201, canned.text
    widget = await live.http.put(
        f"/api/v1/inboxes/{spare.id}/widget", json={}, headers=admin.headers
    )
    key = widget.json()["key"]
    visitor = await live.http.post(f"/api/v1/widget/{key}/sessions", json={"name": "Fuzz"})
    visitor_token = visitor.json()["visitor_token"]
    said_on_web = await live.http.post(
        "/api/v1/widget/messages",
        json={"text": "Hello from the web", "client_id": "fuzz-1"},
        headers={"Authorization": f"Bearer {visitor_token}"},
    )
    assert said_on_web.status_code == 201, said_on_web.text
    # A notification template, one notification and a batch, for their paths.
    template = await live.http.put(
        "/api/v1/notification-templates/fuzz_notice",
        json={
            "purpose": "transactional",
            "variables": [{"name": "order", "example": "A-1"}],
            "variants": [{"language": "en", "text": "Your order {order} has shipped."}],
        },
        headers=admin.headers,
    )
    assert template.status_code == 200, template.text
    batch = await live.http.post(
        "/api/v1/notifications/batches?template=fuzz_notice",
        json=[{"customer_id": said["customer_id"], "variables": {"order": "A-1"}}],
        headers=admin.headers,
    )
    assert batch.status_code == 201, batch.text
    notice = await live.http.get(
        f"/api/v1/notifications?batch_id={batch.json()['batch_id']}", headers=admin.headers
    )
    [one] = notice.json()
    return Seeded(
        known_ids={
            "agent_id": target.id,
            "customer_id": said["customer_id"],
            "conversation_id": said["conversation_id"],
            "inbox_id": spare.id,
            "message_id": reply["id"],
            "channel": "sms",
            "canned_id": canned.json()["id"],
            "key": key,
            "queue": "general",
            "name": "fuzz_notice",
            "notification_id": one["id"],
            "batch_id": batch.json()["batch_id"],
        },
        admin_token=admin.token,
        agent_token=agent.token,
        inbox_token=inbox.token,
        visitor_token=visitor_token,
    )


def assert_no_findings(report: Report, who: str, started: float) -> None:
    elapsed = time.monotonic() - started
    print(f"\nfuzz as {who}: {report.requests} requests in {elapsed:.1f}s\n{report.summary()}")
    assert report.requests > 0, "the fuzz sent no requests"
    if report.findings:
        # One example of each kind of finding, with how often it happened.
        kinds: dict[tuple[Any, ...], list[Finding]] = {}
        for f in report.findings:
            kind = (f.operation, f.mode, f.status, tuple(p.split(":")[0] for p in f.problems))
            kinds.setdefault(kind, []).append(f)
        listing = "\n\n".join(f"({len(same)}x) {same[0]}" for same in kinds.values())
        raise AssertionError(f"{len(report.findings)} fuzz finding(s) as {who}:\n\n{listing}")


# -- tests -------------------------------------------------------------------------


async def test_no_generated_request_yields_a_server_error_or_breaks_the_schema(
    live: Live,
) -> None:
    seeded = await seed(live)
    spec = (await live.http.get("/openapi.json")).json()
    # Logging out revokes the token it is sent with: that operation gets a token of its own.
    login = {"username": "fuzz-admin", "password": PASSWORD}
    logout_token = (await live.http.post("/api/v1/auth/login", json=login)).json()["token"]
    assert logout_token != seeded.admin_token

    def fuzz() -> Report:
        everything_else = fuzz_api(
            spec,
            live.base_url,
            agent_token=seeded.admin_token,
            inbox_token=seeded.inbox_token,
            visitor_token=seeded.visitor_token,
            known_ids=seeded.known_ids,
            examples=MAX_EXAMPLES,
            include=lambda op: op.path != LOGOUT,
        )
        logout = fuzz_api(
            spec,
            live.base_url,
            agent_token=logout_token,
            inbox_token=seeded.inbox_token,
            visitor_token=seeded.visitor_token,
            known_ids=seeded.known_ids,
            examples=5,
            include=lambda op: op.path == LOGOUT,
        )
        everything_else.findings += logout.findings
        everything_else.statuses.update(logout.statuses)
        return everything_else

    started = time.monotonic()
    report = await asyncio.to_thread(fuzz)

    assert_no_findings(report, "admin", started)
    assert set(report.statuses) >= {
        f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops
    }, "some operations were not fuzzed"
    # With an admin token the fuzz must reach the handlers, not only collect refusals.
    assert report.answered(lambda s: 200 <= s < 300) > report.requests // 10, report.summary()


async def test_fuzzing_with_an_agent_role_token_yields_only_well_formed_answers(
    live: Live,
) -> None:
    seeded = await seed(live)
    spec = (await live.http.get("/openapi.json")).json()
    agent_operations = needs("AgentToken")

    started = time.monotonic()
    report = await asyncio.to_thread(
        lambda: fuzz_api(
            spec,
            live.base_url,
            agent_token=seeded.agent_token,
            inbox_token=seeded.inbox_token,
            visitor_token=seeded.visitor_token,
            known_ids=seeded.known_ids,
            examples=AGENT_ROLE_EXAMPLES,
            include=lambda op: op.path != LOGOUT and agent_operations(op),
        )
    )

    assert_no_findings(report, "agent", started)
    assert report.answered(lambda s: s == 403) > 0, (
        "the agent was never refused: " + report.summary()
    )
    assert report.answered(lambda s: 200 <= s < 300) > 0, report.summary()


def _response(status: int, body: bytes, headers: dict[str, str]) -> schemathesis.Response:
    all_headers = {"content-type": "application/json", **headers}
    return schemathesis.Response(
        status_code=status,
        headers={name: [value] for name, value in all_headers.items()},
        content=body,
        request=requests.Request("GET", "http://127.0.0.1/api/v1/me").prepare(),
        elapsed=0.0,
        verify=True,
    )


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (422, b'{"detail": [{"loc": ["body"], "msg": "Field required"}]}', {}),
        (404, b"Not Found", {"content-type": "text/plain"}),
        (409, b'{"error": {"code": "conflict"}}', {}),
        (403, b'{"error": {"code": "", "message": "no", "details": {}}}', {}),
        (401, b'{"error": {"code": "unauthenticated", "message": "no", "details": {}}}', {}),
    ],
)
def test_the_error_shape_check_rejects_bodies_clients_could_not_branch_on(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    response = _response(status, body, headers)
    with pytest.raises(AssertionError):
        error_body_is_machine_readable(None, response, None)  # type: ignore[arg-type]


def test_the_error_shape_check_accepts_the_documented_shape() -> None:
    good = b'{"error": {"code": "not_found", "message": "no such agent", "details": {}}}'
    error_body_is_machine_readable(None, _response(404, good, {}), None)  # type: ignore[arg-type]
    error_body_is_machine_readable(None, _response(200, b"[]", {}), None)  # type: ignore[arg-type]
