import pytest

from flow_scheduler.config import ConfigError, load_settings

BASE = {"SQS_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/flow-builder-queue", "DB_HOST": "db", "DB_PASSWORD": "pw"}


def test_defaults_are_the_readme_defaults():
    settings = load_settings(BASE)
    assert (settings.db_port, settings.db_name, settings.db_user) == (5432, "flow-builder", "root")
    assert settings.db_ssl_mode == "require"
    assert settings.region == "us-east-1"
    assert settings.use_db_secrets is False
    assert settings.db_secret_id == "flow-builder/db"
    assert settings.redrive_after_seconds == 60
    assert (settings.max_fanout, settings.fanout_threshold) == (0, 0), "fan-out is off unless asked for"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"SQS_URL": ""}, "SQS_URL is not set"),
        ({"SQS_URL": "flow-builder-queue"}, "SQS_URL='flow-builder-queue' is not a queue URL"),
        ({"DB_HOST": ""}, "DB_HOST is not set"),
        ({"DB_PASSWORD": ""}, "DB_PASSWORD is not set"),
        ({"DB_PORT": "five"}, "DB_PORT='five' is not a whole number"),
        ({"DB_PORT": "70000"}, "DB_PORT=70000 is out of range"),
        ({"DB_SSL_MODE": "yes"}, "DB_SSL_MODE='yes' is not valid: use one of disable"),
        ({"USE_DB_SECRETS": "maybe"}, "USE_DB_SECRETS='maybe' is not a boolean"),
        ({"REDRIVE_AFTER_SECONDS": "0"}, "REDRIVE_AFTER_SECONDS=0 is out of range"),
        ({"BATCH_SIZE": "-1"}, "BATCH_SIZE=-1 is out of range"),
        ({"MAX_FANOUT": "101"}, "MAX_FANOUT=101 is out of range: set it between 0 and 100"),
        ({"MAX_FANOUT": "many"}, "MAX_FANOUT='many' is not a whole number"),
        ({"FANOUT_THRESHOLD": "-5"}, "FANOUT_THRESHOLD=-5 is out of range: set it between 0 and 10000000"),
        ({"DB_SSL_ROOT_CERT": "/no/such/ca.pem"}, "DB_SSL_ROOT_CERT='/no/such/ca.pem' is not a file: set it to the path of"),
    ],
)
def test_bad_setting_names_the_variable(change, message):
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **change})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secrets_mode_needs_no_host_or_password():
    settings = load_settings({"SQS_URL": BASE["SQS_URL"], "USE_DB_SECRETS": "true"})
    assert settings.use_db_secrets and settings.db_host is None
