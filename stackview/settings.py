"""The stack's settings as .env names them: where its database and its emulator are, and clients for both."""

import boto3
from botocore.config import Config

LOCAL_PASSWORD = "flowbuilder-local"  # the embedded cluster's password when .env sets none


class StackError(RuntimeError):
    """A step of the stack failed; the message says which input or part, and what to do."""


def port(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise StackError(f"{name}={value!r} in .env is not a port: set it to a number from 1 to 65535")
    return number


def aws_clients(settings: dict[str, str], *services: str):
    """boto3 clients on the stack's emulator, as AWS_ENDPOINT_URL in .env names it."""
    session = boto3.Session(
        aws_access_key_id=settings.get("AWS_ACCESS_KEY_ID") or "test",
        aws_secret_access_key=settings.get("AWS_SECRET_ACCESS_KEY") or "test",
        region_name=settings.get("CUSTOM_AWS_REGION") or "us-east-1",
    )
    # Invocations may run up to the function's 60 s timeout.
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=90)
    endpoint = settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    return [session.client(service, endpoint_url=endpoint, config=config) for service in services]


def database_params(settings: dict[str, str]) -> dict:
    """psycopg2.connect keywords for the stack's database, as .env names it (the password is never shown)."""
    return {
        "host": settings.get("DB_HOST") or "127.0.0.1",
        "port": port(settings.get("DB_PORT") or "5432", "DB_PORT"),
        "dbname": settings.get("DB_NAME") or "flow-builder",
        "user": settings.get("DB_USER") or "root",
        "password": settings.get("DB_PASSWORD") or LOCAL_PASSWORD,
        "sslmode": settings.get("DB_SSL_MODE") or "disable",
    }


def connect_database(settings: dict[str, str], doing: str):
    """A psycopg2 connection to the stack's database, or StackError naming where and what to do
    (`doing` reads before the database: "read executions from")."""
    import psycopg2  # only the commands that read the database need the driver loaded

    params = database_params(settings)
    try:
        return psycopg2.connect(**params, connect_timeout=5)
    except psycopg2.OperationalError as err:
        reason = str(err).strip().splitlines()[0]
        raise StackError(
            f"cannot {doing} PostgreSQL at {params['host']}:{params['port']}: {reason}; is the stack up (`make status`)?"
        ) from None
