"""Model providers behind one small async interface, with one central retry/limit loop.

Importing this package loads no vendor SDK; :func:`create_provider` imports the one a model needs.
"""

import logging

from providers.base import (
    GenerateRequest,
    GenerateResult,
    LimitSettings,
    Message,
    Provider,
    RetryPolicy,
    StopReason,
    Usage,
    get_default_retry_policy,
    set_default_retry_policy,
)
from providers.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectionDropped,
    ContextLengthExceeded,
    LocalModelError,
    MalformedResponse,
    MissingKeyError,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    QuotaExceededError,
    RateLimitError,
    RegistryError,
    ServerError,
    UnknownModelError,
)
from providers.registry import (
    ModelInfo,
    Prices,
    create_provider,
    default_model,
    list_models,
    load_registry,
    resolve_api_key,
    resolve_model,
)

logging.getLogger("providers").addHandler(logging.NullHandler())

__all__ = [
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "ConnectionDropped",
    "ContextLengthExceeded",
    "GenerateRequest",
    "GenerateResult",
    "LimitSettings",
    "LocalModelError",
    "MalformedResponse",
    "Message",
    "MissingKeyError",
    "ModelInfo",
    "NotFoundError",
    "Prices",
    "Provider",
    "ProviderError",
    "ProviderTimeout",
    "QuotaExceededError",
    "RateLimitError",
    "RegistryError",
    "RetryPolicy",
    "ServerError",
    "StopReason",
    "UnknownModelError",
    "Usage",
    "create_provider",
    "default_model",
    "get_default_retry_policy",
    "list_models",
    "load_registry",
    "resolve_api_key",
    "resolve_model",
    "set_default_retry_policy",
]
