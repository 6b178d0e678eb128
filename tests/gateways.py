"""The store's gateways over a test's Redis client, as the service and the command line build them."""

from recsvc.read import steering
from recsvc.store.catalog_updates import CatalogRecords
from recsvc.store.model import ModelStore
from recsvc.store.reports import BrowserReports
from recsvc.store.steering import SteeringRecords
from recsvc.store.wire import Wire


def model_store(r) -> ModelStore:
    """The service's model store over ``r``."""
    return ModelStore(Wire(r), steering.decode)


def steering_records(r) -> SteeringRecords:
    """The stored rules and experiments (and the arms' counts) of ``r``."""
    return SteeringRecords(Wire(r))


def catalog_records(r) -> CatalogRecords:
    """What a catalog update reads and writes on ``r``."""
    return CatalogRecords(Wire(r))


def browser_reports(r) -> BrowserReports:
    """The browser's reports kept on ``r``."""
    return BrowserReports(Wire(r))
