"""Which functions `make watch` updates for a changed path (embedded.watch.affected)."""

from embedded.watch import affected, changed


def test_a_scheduler_file_updates_the_scheduler_only():
    assert affected({"scheduler_lambda/flow_scheduler/handler.py"}) == ["LAMBDA_ZIP"]


def test_a_shared_file_updates_both_zips_as_both_carry_flow_common():
    assert affected({"lambda_common/flow_common/db.py"}) == ["LAMBDA_ZIP", "WORKER_LAMBDA_ZIP"]


def test_a_worker_file_updates_the_worker_only():
    assert affected({"worker_lambda/flow_worker/lifecycle.py"}) == ["WORKER_LAMBDA_ZIP"]


def test_nothing_else_updates_a_function():
    assert affected({"scheduler_lambda/package_zip.py", "infra/template.yaml"}) == []
    assert affected({"scheduler_lambda/flow_scheduler_old/x.py"}) == []


def test_changed_sees_added_removed_and_modified_files():
    before = {"a": (1, 1), "b": (1, 1), "c": (1, 1)}
    after = {"a": (1, 1), "b": (2, 1), "d": (1, 1)}
    assert changed(before, after) == {"b", "c", "d"}
