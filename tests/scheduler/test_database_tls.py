"""DB_SSL_ROOT_CERT with DB_SSL_MODE=verify-full, against the embedded PostgreSQL behind TLS made in the test."""

from __future__ import annotations

import pytest

from flow_common.db import DatabaseUnavailable
from scheduler_support import add_workflows, drain, executions, invoke
from tls_proxy import TlsProxy, make_certificates


@pytest.fixture
def tls_postgres(postgres, tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    proxy = TlsProxy((postgres.host, postgres.port), cert, key)
    yield proxy, ca, tmp_path
    proxy.close()


def _verify_full(env, proxy, ca):
    env.setenv("DB_HOST", "localhost")  # the name the certificate was made for
    env.setenv("DB_PORT", str(proxy.port))
    env.setenv("DB_SSL_MODE", "verify-full")
    env.setenv("DB_SSL_ROOT_CERT", str(ca))


def test_verify_full_with_the_root_cert_connects(db, sqs, queue, scheduler_env, tls_postgres):
    proxy, ca, _ = tls_postgres
    _verify_full(scheduler_env, proxy, ca)
    add_workflows(db, 2)
    assert invoke()["enqueued"] == 2
    assert len(drain(sqs, queue)) == 2


def test_verify_full_refuses_a_server_another_ca_signed(db, sqs, queue, scheduler_env, tls_postgres):
    proxy, _, folder = tls_postgres
    other_ca, _, _ = make_certificates(folder, "other")
    _verify_full(scheduler_env, proxy, other_ca)
    add_workflows(db, 2)
    with pytest.raises(DatabaseUnavailable, match="cannot connect to PostgreSQL at localhost:.*certificate verify failed"):
        invoke()
    assert executions(db) == []
