"""infra/deploy.py sends its code only to a bucket of its own account: ExpectedBucketOwner on every call to
the predictable artifacts bucket (issue 16, "artifacts bucket sniping"). A stubbed S3 client, because the
fault cannot be caused for real here: MiniStack 1.5.33 ignores ExpectedBucketOwner (a sniper's bucket
opened to all received the zips with the check in place), while AWS refuses such a call with 403."""

import importlib.util
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

ACCOUNT = "111122223333"
BUCKET = f"flow-builder-artifacts-{ACCOUNT}-eu-west-1"
SPEC = importlib.util.spec_from_file_location("deploy", Path(__file__).parents[2] / "infra" / "deploy.py")
deploy = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(deploy)


@pytest.fixture
def stubbed(monkeypatch):
    """A Deployer of ACCOUNT whose S3 client answers only the calls the test expects, with the parameters it expects."""
    monkeypatch.delenv("ARTIFACTS_BUCKET", raising=False)
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    deployer = object.__new__(deploy.Deployer)
    deployer.session, deployer.account = boto3.Session(region_name="eu-west-1"), ACCOUNT
    monkeypatch.setattr(deployer, "client", lambda service: s3)
    with Stubber(s3) as stub:
        yield deployer, stub
        stub.assert_no_pending_responses()


def test_a_bucket_of_another_account_is_refused_naming_it(stubbed):
    deployer, stub = stubbed
    stub.add_client_error("head_bucket", "403", expected_params={"Bucket": BUCKET, "ExpectedBucketOwner": ACCOUNT})
    with pytest.raises(deploy.DeployError, match=f"the artifacts bucket {BUCKET} belongs to another account"):
        deployer.artifacts_bucket()


def test_the_zip_is_read_and_written_only_if_the_bucket_is_ours(stubbed, tmp_path):
    deployer, stub = stubbed
    zip_file = tmp_path / "scheduler.zip"
    zip_file.write_bytes(b"the code")
    owner = {"Bucket": BUCKET, "Key": ANY, "ExpectedBucketOwner": ACCOUNT}
    stub.add_client_error("head_object", "404", expected_params={**owner, "ChecksumMode": "ENABLED"})
    stub.add_response("put_object", {}, expected_params={**owner, "Body": b"the code", "ChecksumSHA256": ANY})
    assert deployer.upload("LAMBDA_ZIP", str(zip_file), BUCKET).startswith("scheduler/")
