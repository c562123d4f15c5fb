"""Database credentials: from DB_* settings, or from an RDS-format secret in Secrets Manager."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from .settings import ConfigError, DatabaseSettings

# Secret fields (the RDS rotation format) and the connection parameter each one sets.
_SECRET_FIELDS = {"username": "user", "password": "password", "host": "host", "port": "port", "dbname": "dbname"}


def connection_params(settings: DatabaseSettings, secrets_client=None) -> dict:
    params = {
        "host": settings.db_host,
        "port": settings.db_port,
        "dbname": settings.db_name,
        "user": settings.db_user,
        "password": settings.db_password,
    }
    if settings.use_db_secrets:
        params.update(_from_secret(settings.db_secret_id, secrets_client))
    for name, variable in (("host", "DB_HOST"), ("password", "DB_PASSWORD")):
        if not params[name]:
            raise ConfigError(f"{variable} is not set and secret {settings.db_secret_id!r} has no '{name}'")
    return params


def _from_secret(secret_id: str, client) -> dict:
    try:
        text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except (BotoCoreError, ClientError) as err:
        raise ConfigError(
            f"DB_SECRET_ID={secret_id!r} could not be read ({err}): check the secret exists and the role may read it"
        ) from None
    try:
        secret = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(f"DB_SECRET_ID={secret_id!r} is not JSON: store the RDS format (username, password, ...)") from None
    if not isinstance(secret, dict):
        raise ConfigError(f"DB_SECRET_ID={secret_id!r} is not a JSON object: store the RDS format (username, password, ...)")
    found = {param: secret[field] for field, param in _SECRET_FIELDS.items() if secret.get(field) not in (None, "")}
    if "port" in found:
        try:
            found["port"] = int(found["port"])
        except (TypeError, ValueError):
            raise ConfigError(f"DB_SECRET_ID={secret_id!r} has a port that is not a number") from None
    return found
