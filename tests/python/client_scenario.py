"""A scenario run through the Python client `openapi-python-client` generated from the
served OpenAPI document (package `hookgate_client`, on PYTHONPATH): create an endpoint, post
it a signed webhook, read the inbound record and the alert, acknowledge it, and meet a 404.
Only the webhook itself is posted by hand (a provider sends it, not an API client).

Usage: client_scenario.py GATEWAY_URL ADMIN_TOKEN PAYLOAD_FILE RECEIVER_URL
Prints "scenario OK" at the end; any other end is a failure.
"""

import hashlib
import hmac
import sys
import time
import urllib.request

from hookgate_client import AuthenticatedClient
from hookgate_client.api.alerts import acknowledge_alert, get_alert
from hookgate_client.api.endpoints import create_endpoint, get_endpoint
from hookgate_client.api.inbound import get_inbound_record, list_inbound
from hookgate_client.models import (
    AlertState,
    AlertView,
    EndpointInput,
    EndpointView,
    ErrorAnswer,
    InboundDetailView,
    InboundStatus,
)


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")


def post_signed(url, secret, event, body, request_uuid):
    """Posts a webhook as Bitbucket does, signed with the endpoint's secret."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Bitbucket-Webhooks/2.0",
            "X-Event-Key": event,
            "X-Request-UUID": request_uuid,
            "X-Attempt-Number": "1",
            "X-Hub-Signature": signature,
        },
    )
    with urllib.request.urlopen(request) as answer:
        return answer.status, signature


def main():
    gateway_url, token, payload_file, receiver_url = sys.argv[1:]
    with open(payload_file, "rb") as file:
        payload = file.read()
    client = AuthenticatedClient(base_url=f"{gateway_url}/api/v1", token=token)

    created = create_endpoint.sync_detailed(
        client=client,
        body=EndpointInput.from_dict(
            {
                "name": "from python",
                "alerts": {"plugin": "bitbucket-pipelines"},
                "format": {"plugin": "bitbucket-embeds"},
                "destinations": [{"kind": "discord", "url": f"{receiver_url}/discord"}],
            }
        ),
    )
    check(created.status_code == 201, f"create answered {created.status_code}")
    endpoint = created.parsed
    check(isinstance(endpoint, EndpointView), f"create gave {endpoint!r}")
    check(endpoint.name == "from python", endpoint.name)
    check(endpoint.secret_set and endpoint.secret, "a secret shown once")
    check(endpoint.url == f"{gateway_url}/hooks/{endpoint.id}", endpoint.url)
    check(endpoint.destinations[0].kind == "discord", endpoint.destinations)
    check(endpoint.destinations[0].consecutive_failures == 0, endpoint.destinations)
    shown = get_endpoint.sync(client=client, id=endpoint.id)
    check(isinstance(shown, EndpointView) and shown.id == endpoint.id, repr(shown))
    check(not shown.secret, "the secret is never shown again")
    check(isinstance(shown.created_at, int), f"created_at: {shown.created_at!r}")
    check(shown.created_at == endpoint.created_at, f"created_at: {shown.created_at!r}")

    status, signature = post_signed(
        endpoint.url, endpoint.secret, "repo:commit_status_updated", payload,
        "00000000-0000-4000-8000-0000000000aa",
    )
    check(status == 202, f"the webhook was answered {status}")

    deadline = time.monotonic() + 30
    while True:
        page = list_inbound.sync(client=client, endpoint=endpoint.id)
        check(page is not None and len(page.items) == 1, f"one record: {page!r}")
        if page.items[0].status != InboundStatus.PENDING:
            break
        check(time.monotonic() < deadline, "the record was processed in time")
        time.sleep(0.1)
    check(page.next_ is None, f"one page: {page.next_!r}")

    record = get_inbound_record.sync(client=client, id=page.items[0].id)
    check(isinstance(record, InboundDetailView), repr(record))
    check(record.status == InboundStatus.PROCESSED, record.status)
    check(record.event == "repo:commit_status_updated", record.event)
    check(record.request_uuid == "00000000-0000-4000-8000-0000000000aa", record.request_uuid)
    check(record.body == payload.decode(), "the body as posted")
    headers = {name: value for name, value in record.headers}
    check("x-hub-signature" in headers, f"the signature header: {headers!r}")
    check(headers["x-hub-signature"] != signature, "the signature is redacted")
    mapped = [outcome for outcome in record.outcomes if outcome.plugin == "bitbucket-pipelines"]
    check(len(mapped) == 1, f"the mapper's outcome: {record.outcomes!r}")
    check(mapped[0].outcome == "Mapped Opened", mapped[0].outcome)
    alert_id = mapped[0].alert
    check(isinstance(alert_id, str) and alert_id.startswith("al_"), repr(alert_id))

    alert = get_alert.sync(client=client, id=alert_id)
    check(isinstance(alert, AlertView), repr(alert))
    check(alert.state == AlertState.OPEN, alert.state)
    check(alert.endpoint == endpoint.id, alert.endpoint)
    check(alert.source_status == "FAILED", alert.source_status)
    check(alert.count == 1, alert.count)
    check(alert.history == [record.id], alert.history)
    check(alert.acknowledged_at is None, alert.acknowledged_at)

    acknowledged = acknowledge_alert.sync(client=client, id=alert_id)
    check(isinstance(acknowledged, AlertView), repr(acknowledged))
    check(acknowledged.state == AlertState.ACKNOWLEDGED, acknowledged.state)
    check(acknowledged.acknowledged_by == "operator", acknowledged.acknowledged_by)
    check(isinstance(acknowledged.acknowledged_at, int), acknowledged.acknowledged_at)

    missing = get_alert.sync_detailed(client=client, id="al_999999")
    check(missing.status_code == 404, missing.status_code)
    check(isinstance(missing.parsed, ErrorAnswer), repr(missing.parsed))
    check("alert" in missing.parsed.error, missing.parsed.error)
    print("scenario OK")


if __name__ == "__main__":
    main()
