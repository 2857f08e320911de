"""Smoke test of the Python client generated from openapi/openapi.yaml (openapi-python-client),
against a live server over the demo data: lists contracts and pages with `links.next`,
searches, and reads the change feed to its end. Run by scripts/clients.sh."""

import sys
from urllib.parse import parse_qs, urlparse

from scrutiny_client import Client
from scrutiny_client.api.changes import list_changes
from scrutiny_client.api.contracts import list_contracts
from scrutiny_client.api.search import search
from scrutiny_client.models import ChangeFeedPage, ContractPage, SearchPage


def query(link, name):
    """A parameter of a `links.next` path."""
    return parse_qs(urlparse(link).query)[name][0]


client = Client(base_url=sys.argv[1], raise_on_unexpected_status=True)

first = list_contracts.sync(client=client, limit=5)
assert isinstance(first, ContractPage), first
assert len(first.items) == 5 and first.total > 5, (len(first.items), first.total)
contract = first.items[0]
assert contract.signed_at.tzinfo is not None, "times carry their zone"
assert isinstance(contract.amount.amount, str) and "." in contract.amount.amount, "money is exact text"
second = list_contracts.sync(client=client, limit=5, cursor=query(first.links.next_, "cursor"))
assert isinstance(second, ContractPage)
assert not {c.id for c in first.items} & {c.id for c in second.items}, "pages do not overlap"

hits = search.sync(client=client, q="министерства финансов")
assert isinstance(hits, SearchPage), hits
assert hits.items, "the demo data holds the Ministry of Finance"
assert all(hit.href.startswith("/v1/") for hit in hits.items)

changes, since, pages = 0, None, 0
while True:
    page = list_changes.sync(client=client, limit=1000, **({"since": since} if since else {}))
    assert isinstance(page, ChangeFeedPage), page
    pages += 1
    if not page.items:
        break
    changes += len(page.items)
    assert all(change.changed_at.tzinfo is not None for change in page.items)
    since = query(page.links.next_, "since")
assert changes > 0

print(f"python client: {first.total} contracts, {len(hits.items)} search hits, {changes} changes in {pages} pages")
