"""``rec_id``: each answer's id, naming the endpoint that served it, signed so the browser may report on it.

A rec_id is ``<code>.<expiry>.<nonce>.<signature>``, or ``<code>.<expiry>.<nonce>.<experiment>.<arm>.<signature>``
for an answer of an A/B test's arm, so what follows it is counted for that arm. ``code`` names the endpoint, so no
impression is stored: an event that carries a rec_id is counted against its endpoint, and clicks over impressions is
the CTR. ``expiry`` is the unix second after which the browser may no longer report on it (keyed events
from the shop's servers are counted later too). ``nonce`` is 8 random characters then the shown digest: the
URL-safe base64 of a 9-byte BLAKE2b of the answer's item ids (``shown_ids``) joined by newlines, so a click is
taken only on an item the answer showed (``shows``). ``signature`` is the URL-safe base64 (no padding) of the
first 16 bytes of HMAC-SHA256, keyed with the tracking secret, of ``<code>.<expiry>.<nonce>`` and the user the
answer was given to: the answer's ``user_id`` when the request proved to be that user (an API key or the user's
token), else empty (lists not keyed by a user, and user-keyed lists asked for without either). A browser can
report only on answers the service gave, and a click counts as a user's view only on an answer given to them.
"""

import base64
import hashlib
import hmac
import logging
import secrets
import time

from flask import Flask, current_app, g

from recsvc.http.metrics import ATTRIBUTED, answered
from recsvc.store.counters import Purchase
from recsvc.store.errors import NoModel, StoreError

log = logging.getLogger(__name__)

ENDPOINTS = {
    "u": "user_recommendations",
    "b": "batch",
    "a": "also_bought",
    "s": "similar",
    "p": "popular",
    "o": "category_offers",
    "n": "session",
    "v": "recently_viewed",
    "g": "buy_again",
}
CODES = {name: code for code, name in ENDPOINTS.items()}
REC_ID_TTL_S = 3_600
"""Seconds a rec_id stays good for reports from the browser."""
SECRET_EXTENSION = "recsvc.http.attribution.secret"
RANDOM_CHARS = 8
"""Characters of a nonce before its shown digest (6 random bytes in URL-safe base64)."""
DIGEST_BYTES = 9
"""Bytes of the shown digest: 72 bits, so no other list of items is found with the same one."""


def tag(answer: dict, endpoint: str, subject: str | None = None, bound: bool = True, shown: bool = True) -> dict:
    """Give an answer its signed rec_id and count it as an impression of the endpoint; an answer of an
    experiment's arm is counted for the arm and its user (or ``subject``: ``visitor:<id>``) after the request.

    ``bound`` False: the request did not prove to be the answer's user, so the rec_id is signed for no user and
    a click on it is the page's visitor's, never the user's. ``shown`` False: no shown digest (an answer no page
    shows, whose clicks the browser may not report: the batch's, 1,000 digests a call saved)."""
    code = CODES[endpoint]
    nonce = secrets.token_urlsafe(6) + (shown_digest(shown_ids(answer)) if shown else "")
    unsigned = f"{code}.{int(time.time()) + REC_ID_TTL_S}.{nonce}"
    experiment = answer.get("experiment")
    if experiment is not None:
        unsigned += f".{experiment['name']}.{experiment['arm']}"
        exposed = subject or answer.get("user_id")
        if exposed:
            g.setdefault("exposures", []).append((experiment["name"], experiment["arm"], exposed))
    user_id = (answer.get("user_id") or "") if bound else ""
    answer["rec_id"] = f"{unsigned}.{_signature(tracking_secret(), unsigned, user_id)}"
    answered(endpoint, answer.get("source", "")).inc()
    return answer


def shown_ids(answer: dict) -> list[str]:
    """The item ids an answer shows, in its order (a category offers answer's, offer after offer)."""
    items = answer.get("items")
    if items is None:
        items = [item for offer in answer.get("offers", ()) for item in offer["items"]]
    return [item["item_id"] for item in items]


def shown_digest(item_ids: list[str]) -> str:
    """The digest of a list of shown item ids that a rec_id's nonce ends with (12 characters)."""
    digest = hashlib.blake2b("\n".join(item_ids).encode(), digest_size=DIGEST_BYTES).digest()
    return base64.urlsafe_b64encode(digest).decode()


def shows(rec_id: str, item_ids: list[str], item_id: str) -> bool:
    """True when ``item_ids`` are the items of the rec_id's answer (its shown digest) and ``item_id`` is one of
    them. The rec_id's signature is checked apart (``verified_endpoint``)."""
    parts = rec_id.split(".")
    nonce = parts[2] if len(parts) > 3 else ""
    if len(nonce) <= RANDOM_CHARS or item_id not in item_ids:
        return False
    return hmac.compare_digest(nonce[RANDOM_CHARS:].encode(), shown_digest(item_ids).encode())


def init_app(app: Flask) -> None:
    """Count the answers of experiments' arms once a request is answered, in one round trip."""
    app.after_request(_count_exposures)


def _count_exposures(response):
    exposures = g.pop("exposures", None)
    if exposures:
        try:
            current_app.extensions["recsvc"].store.arms.answered(exposures)
        except StoreError as e:  # the answer stands; only the experiment's count misses it
            log.warning("could not count %d answers of an experiment: %s", len(exposures), e)
    return response


def arm_of(rec_id: str) -> tuple[str, str] | None:
    """The (experiment, arm) a rec_id's answer came from, None for an answer outside experiments."""
    parts = rec_id.split(".")
    return (parts[3], parts[4]) if len(parts) == 6 and parts[0] in ENDPOINTS else None


def endpoint_of(rec_id: str) -> str | None:
    """The endpoint a rec_id came from, None if it is not one of ours."""
    code, dot, rest = rec_id.partition(".")
    return ENDPOINTS.get(code) if dot and rest else None


def verified_endpoint(rec_id: str, user_id: str = "", now: float | None = None) -> str | None:
    """The endpoint of a rec_id this service signed for ``user_id`` and that has not expired, else None."""
    unsigned, _, signature = rec_id.rpartition(".")
    code, _, rest = unsigned.partition(".")
    expiry_text = rest.partition(".")[0]
    if code not in ENDPOINTS or not (expiry_text.isascii() and expiry_text.isdigit() and len(expiry_text) <= 12):
        return None
    expected = _signature(tracking_secret(), unsigned, user_id)
    genuine = hmac.compare_digest(expected.encode(), signature.encode())
    moment = time.time() if now is None else now
    return ENDPOINTS[code] if genuine and moment < int(expiry_text) <= moment + REC_ID_TTL_S else None


def count_events(events: list[dict[str, str]]) -> None:
    """Count posted events (stream fields) for the answers they followed, by endpoint and, while an experiment
    runs, for its arms: a view with a rec_id is a click on that answer; a purchase counts for the rec_id's arm
    and for the buyer's own arm (``recsvc.store.counters``)."""
    for fields in events:
        endpoint = endpoint_of(fields.get("rec_id", ""))
        if endpoint is not None:
            ATTRIBUTED.labels(endpoint, fields["event"]).inc()
    try:
        _count_for_arms(events)
    except (NoModel, StoreError) as e:  # the events are stored: only the counts miss them
        log.warning("could not count %d events for an experiment: %s", len(events), e)


def _count_for_arms(events: list[dict[str, str]]) -> None:
    store = current_app.extensions["recsvc"].store
    version = store.version()  # and the experiments as they are now
    experiment = store.steering.running
    if experiment is None:
        return
    counts = store.arms
    purchases = []
    for fields in events:
        tagged = arm_of(fields.get("rec_id", ""))
        arm = tagged[1] if tagged and tagged[0] == experiment.name and tagged[1] in experiment.arm_names else None
        if fields["event"] == "view" and arm is not None:
            counts.reported(experiment.name, arm, "click")
        elif fields["event"] == "purchase":
            revenue = _price(store, version, fields["item_id"]) * int(fields.get("quantity", "1"))
            own = experiment.arm_for(fields["user_id"]).name
            purchases.append(Purchase(fields["user_id"], revenue, own, arm))
    counts.purchased(experiment.name, purchases)


def count_report(rec_id: str, kind: str) -> None:
    """Count a browser report (``impression``, ``click``) on an answer for its arm, while its experiment runs."""
    tagged = arm_of(rec_id)
    if tagged is None:
        return
    store = current_app.extensions["recsvc"].store
    store.version()  # the experiments as they are now
    experiment = store.steering.running
    if experiment is not None and experiment.name == tagged[0] and tagged[1] in experiment.arm_names:
        store.arms.reported(tagged[0], tagged[1], kind)


def _price(store, version: str, item_id: str) -> float:
    """The item's catalog price in ``version``, 0 where it has none."""
    index = store.item_index(version, item_id)
    attrs = store.attrs(version, [index])[0] if index is not None else None
    price = (attrs or {}).get("price")
    return float(price) if isinstance(price, (int, float)) else 0.0


def tracking_secret() -> bytes:
    """The key rec_ids are signed with: ``RECSVC_TRACKING_SECRET``, else one random secret kept in Redis,
    so every worker and every restart signs alike. Read once per process."""
    secret = current_app.extensions.get(SECRET_EXTENSION)
    if secret is None:
        configured = str(current_app.config.get("TRACKING_SECRET") or "")
        secret = configured.encode() if configured else current_app.extensions["recsvc"].store.tracking_secret.get()
        if secret is None:  # a full Redis holds none yet: the answer stands, its clicks will not count
            return secrets.token_bytes(32)
        current_app.extensions[SECRET_EXTENSION] = secret
    return secret


def _signature(secret: bytes, unsigned: str, user_id: str) -> str:
    mac = hmac.digest(secret, f"{unsigned}\n{user_id}".encode(), "sha256")[:16]  # the one-shot C path
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
