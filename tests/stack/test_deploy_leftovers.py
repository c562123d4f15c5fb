"""A first deployment that failed on AWS leaves its retained resources (DeletionPolicy: Retain) behind; the
next create would fail on them with "already exists". deploy.py finds them before creating anything and
says, in one line, what they are and what to do."""

ACCOUNT = "100000000014"


def test_leftovers_of_a_failed_first_deploy_are_named_before_anything_is_created(deploy, aws):
    sqs, secrets = aws(ACCOUNT, "sqs"), aws(ACCOUNT, "secretsmanager")
    # What the rollback of a failed first creation keeps: the queue, the DLQ and the secret.
    sqs.create_queue(QueueName="flow-builder-queue-dlq")
    sqs.create_queue(QueueName="flow-builder-queue")
    secrets.create_secret(Name="flow-builder/db", SecretString="{}")

    result = deploy(ACCOUNT)

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("deploy: flow-builder-queue, flow-builder-queue-dlq, flow-builder/db exist outside any stack"), line
    assert "delete-queue" in line and "delete-secret" in line
    assert aws(ACCOUNT, "cloudformation").list_stacks()["StackSummaries"] == []

    # Once deleted as the line says, the deployment goes through.
    for name in ("flow-builder-queue", "flow-builder-queue-dlq"):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    secrets.delete_secret(SecretId="flow-builder/db", ForceDeleteWithoutRecovery=True)
    again = deploy(ACCOUNT)
    assert again.returncode == 0, again.stdout + again.stderr
