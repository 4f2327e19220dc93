"""Redis key layout shared by the writers (agents, API) and the readers (API).

Every key starts with the app id, so tests and benches share one Redis safely.
"""

from __future__ import annotations

from streams.settings import Settings


def stock_key(settings: Settings, product_id: int) -> str:
    """Hash {stock, remaining, held, sold, offset}: the stock agent's projection."""
    return f"{settings.app_id}:stock:{product_id}"


def order_status_key(settings: Settings, order_id: str) -> str:
    """Hash of the Order fields of the contract: the order status projection."""
    return f"{settings.app_id}:order:{order_id}"


def product_cache_key(settings: Settings, product_id: int) -> str:
    """JSON of a product's catalog fields: the catalog cache (MySQL is the truth)."""
    return f"{settings.app_id}:product:{product_id}"


def catalog_key(settings: Settings) -> str:
    """JSON list of every product's catalog fields: the cache behind ``GET /products``."""
    return f"{settings.app_id}:catalog"


def token_version_key(settings: Settings, member_id: int) -> str:
    """A member's current token version; tokens carrying an older one are revoked."""
    return f"{settings.app_id}:token-version:{member_id}"


def idempotency_key(settings: Settings, order_id: str) -> str:
    """The product an Idempotency-Key's order was made for (the id encodes member and key)."""
    return f"{settings.app_id}:idempotency:{order_id}"


def rate_key(settings: Settings, member_id: int, window: int) -> str:
    """Requests of a member in one rate-limit window (one second)."""
    return f"{settings.app_id}:rate:{member_id}:{window}"


def auth_rate_key(settings: Settings, action: str, by: str, subject: str, window: int) -> str:
    """Login or sign-up attempts from one address or for one account in a one-minute window."""
    return f"{settings.app_id}:auth-rate:{action}:{by}:{subject}:{window}"


def holds_key(settings: Settings) -> str:
    """Sorted set of live holds ("product_id:order_id", score = expires_at) for expiry."""
    return f"{settings.app_id}:holds"


def sold_out_key(settings: Settings) -> str:
    """Hash product_id -> offset of every product whose projected ``remaining`` is 0."""
    return f"{settings.app_id}:sold-out"


def stock_changes_channel(settings: Settings) -> str:
    """Pub/sub channel: "product_id offset remaining" whenever a product reaches or leaves 0."""
    return f"{settings.app_id}:stock-changes"


def revocations_key(settings: Settings) -> str:
    """Sorted set of "member_id:version" (score: epoch seconds) of recent logout-alls."""
    return f"{settings.app_id}:revocations"


def revocations_channel(settings: Settings) -> str:
    """Pub/sub channel: "member_id version" on every logout-all."""
    return f"{settings.app_id}:revoked"
