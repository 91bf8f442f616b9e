"""The loopback Vertex AI, Cloud Logging and GCS servers, proven with the real clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from fakes.client_calls import (
    custom_job,
    eventually,
    job_id_of,
    job_log_entries,
    wait_until_finished,
)
from fakes.project import ARTIFACT_REGISTRY, LOCATION, PARENT, PROJECT

# --- jobs that run ----------------------------------------------------------------------


def test_job_exiting_zero_succeeds_and_its_logs_come_in_order_page_by_page(
    job_client: Any, logging_client: Any, fake_logging: Any, probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    created = job_client.create_custom_job(
        parent=PARENT, custom_job=custom_job(probe_image, "lines=25", "err=oops", "out=done")
    )
    assert created.state == JobState.JOB_STATE_QUEUED
    assert created.name.startswith(f"{PARENT}/customJobs/")
    job = wait_until_finished(job_client, created.name)

    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert job.create_time <= job.start_time <= job.end_time <= job.update_time
    assert not job.error.message
    job_id = job_id_of(created.name)
    pager = logging_client.list_log_entries(
        request={
            "resource_names": [f"projects/{PROJECT}"],
            "filter": f'resource.type="ml_job" AND resource.labels.job_id="{job_id}"',
            "page_size": 10,
        }
    )
    pages = [list(page.entries) for page in pager.pages]
    entries = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [10, 10, 7]
    stdout = [entry.text_payload for entry in entries if entry.severity == 200]
    assert stdout == [f"line {n}" for n in range(25)] + ["done"]
    assert [(e.text_payload, e.severity) for e in entries if e.severity == 500] == [("oops", 500)]
    assert entries[0].resource.type == "ml_job"
    assert entries[0].resource.labels["job_id"] == job_id
    assert entries[0].log_name == f"projects/{PROJECT}/logs/workerpool0-0"
    stamps = [(entry.timestamp, entry.insert_id) for entry in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert fake_logging.call_count("ListLogEntries") == 3


def test_timestamp_filter_returns_only_entries_after_the_last_one_read(
    job_client: Any, logging_client: Any, probe_image: str
) -> None:
    job = job_client.create_custom_job(parent=PARENT, custom_job=custom_job(probe_image, "lines=6"))
    wait_until_finished(job_client, job.name)
    job_id = job_id_of(job.name)
    first = job_log_entries(logging_client, job_id)
    last_read = first[2].timestamp.rfc3339()

    later = job_log_entries(
        logging_client,
        job_id,
        filter=f'resource.labels.job_id="{job_id}" AND timestamp>"{last_read}"',
    )
    newest_first = job_log_entries(logging_client, job_id, order_by="timestamp desc", page_size=4)

    assert [entry.text_payload for entry in later] == ["line 3", "line 4", "line 5"]
    assert [e.text_payload for e in newest_first] == [f"line {n}" for n in reversed(range(6))]


def test_job_exiting_three_fails_with_an_error_naming_the_exit_code(
    job_client: Any, probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    job = job_client.create_custom_job(
        parent=PARENT, custom_job=custom_job(probe_image, "err=bad input", "exit=3")
    )
    job = wait_until_finished(job_client, job.name)

    assert job.state == JobState.JOB_STATE_FAILED
    assert job.error.code == 3
    assert "non-zero status of 3" in job.error.message


def test_cancelled_job_ends_cancelled_and_its_container_is_removed(
    job_client: Any, logging_client: Any, docker_engine: Any, probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    job = job_client.create_custom_job(
        parent=PARENT, custom_job=custom_job(probe_image, "out=started", "sleep=120")
    )
    job_id = job_id_of(job.name)
    eventually(lambda: [e.text_payload for e in job_log_entries(logging_client, job_id)], bool)
    eventually(
        lambda: job_client.get_custom_job(name=job.name).state,
        lambda state: state == JobState.JOB_STATE_RUNNING,
    )

    job_client.cancel_custom_job(name=job.name)
    cancelling = job_client.get_custom_job(name=job.name).state
    job = wait_until_finished(job_client, job.name)

    assert cancelling in (JobState.JOB_STATE_CANCELLING, JobState.JOB_STATE_CANCELLED)
    assert job.state == JobState.JOB_STATE_CANCELLED
    assert (
        docker_engine.containers.list(all=True, filters={"label": f"fake-vertex.job={job_id}"})
        == []
    )
    assert "terminated" in [entry.text_payload for entry in job_log_entries(logging_client, job_id)]


def test_job_on_the_host_network_writes_an_object_the_storage_client_reads(
    job_client: Any, gcs_emulator: Any, storage_client: Any, gcs_bucket: str, probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    job = custom_job(
        probe_image,
        f"put={gcs_bucket}/results/out.txt=hello from the job",
        env=[{"name": "STORAGE_EMULATOR_HOST", "value": gcs_emulator.endpoint}],
    )
    job = wait_until_finished(
        job_client, job_client.create_custom_job(parent=PARENT, custom_job=job).name
    )

    assert job.state == JobState.JOB_STATE_SUCCEEDED, job.error.message
    blob = storage_client.bucket(gcs_bucket).blob("results/out.txt")
    assert blob.download_as_bytes() == b"hello from the job"


def test_artifact_registry_image_runs_from_the_local_registry_with_vertex_env(
    job_client: Any, logging_client: Any, probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    image = f"{ARTIFACT_REGISTRY}/{probe_image.split('/', 1)[1]}"
    job = custom_job(image, "env=CLOUD_ML_JOB_ID", "env=GREETING")
    job.job_spec.worker_pool_specs[0].container_spec.env = [{"name": "GREETING", "value": "hi"}]
    job = wait_until_finished(
        job_client, job_client.create_custom_job(parent=PARENT, custom_job=job).name
    )

    job_id = job_id_of(job.name)
    assert job.state == JobState.JOB_STATE_SUCCEEDED, job.error.message
    texts = [entry.text_payload for entry in job_log_entries(logging_client, job_id)]
    assert texts == [f"CLOUD_ML_JOB_ID={job_id}", "GREETING=hi"]


def test_image_missing_from_every_registry_fails_the_job_without_a_container(
    job_client: Any,
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    job = custom_job("localhost:5000/fake-vertex-test/absent:404")
    job = wait_until_finished(
        job_client, job_client.create_custom_job(parent=PARENT, custom_job=job).name
    )

    assert job.state == JobState.JOB_STATE_FAILED
    assert job.error.code == 5 and "absent:404" in job.error.message


# --- requests, faults, listing, deletion -------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "change", "complaint"),
    [
        ("projects/p/regions/r", {}, "parent must be projects/PROJECT/locations/LOCATION"),
        (PARENT, {"display_name": ""}, "display_name is required"),
        (PARENT, {"labels": {"Run": "x"}}, "labels: key 'Run'"),
        (PARENT, {"job_spec": {}}, "at least one worker pool"),
    ],
)
def test_invalid_create_request_is_refused_naming_the_field(
    job_client: Any, parent: str, change: dict[str, Any], complaint: str
) -> None:
    from google.api_core.exceptions import InvalidArgument

    job = custom_job("localhost:5000/never-run:1")
    for field, value in change.items():
        setattr(job, field, value)

    with pytest.raises(InvalidArgument, match=complaint):
        job_client.create_custom_job(parent=parent, custom_job=job)


def test_missing_image_uri_and_machine_type_are_refused(job_client: Any) -> None:
    from google.api_core.exceptions import InvalidArgument

    without_image = custom_job("")
    without_machine = custom_job("localhost:5000/never-run:1")
    without_machine.job_spec.worker_pool_specs[0].machine_spec.machine_type = ""

    with pytest.raises(InvalidArgument, match=r"container_spec\.image_uri is required"):
        job_client.create_custom_job(parent=PARENT, custom_job=without_image)
    with pytest.raises(InvalidArgument, match=r"machine_spec\.machine_type is required"):
        job_client.create_custom_job(parent=PARENT, custom_job=without_machine)


def test_injected_resource_exhausted_surfaces_and_a_retry_gets_through(
    job_client: Any, fake_vertex: Any, probe_image: str
) -> None:
    from google.api_core.exceptions import ResourceExhausted
    from google.api_core.retry import Retry, if_exception_type

    fake_vertex.fail_next("CreateCustomJob", grpc.StatusCode.RESOURCE_EXHAUSTED, n=3)
    with pytest.raises(ResourceExhausted):
        job_client.create_custom_job(parent=PARENT, custom_job=custom_job(probe_image))
    retry = Retry(predicate=if_exception_type(ResourceExhausted), initial=0.01, maximum=0.05)
    job = job_client.create_custom_job(
        parent=PARENT, custom_job=custom_job(probe_image), retry=retry
    )

    assert fake_vertex.call_count("CreateCustomJob") == 4
    fake_vertex.wait_for_job(job.name)


def test_denied_project_gets_permission_denied_and_others_are_served(
    job_client: Any, fake_vertex: Any
) -> None:
    from google.api_core.exceptions import PermissionDenied

    fake_vertex.deny(project="forbidden")

    with pytest.raises(PermissionDenied, match="forbidden"):
        job_client.list_custom_jobs(parent=f"projects/forbidden/locations/{LOCATION}")
    assert list(job_client.list_custom_jobs(parent=PARENT)) == []


def test_denied_service_account_cannot_create_jobs(job_client: Any, fake_vertex: Any) -> None:
    from google.api_core.exceptions import PermissionDenied

    fake_vertex.deny(service_account="robot@fake-project.iam.gserviceaccount.com")
    job = custom_job("localhost:5000/never-run:1")
    job.job_spec.service_account = "robot@fake-project.iam.gserviceaccount.com"

    with pytest.raises(PermissionDenied):
        job_client.create_custom_job(parent=PARENT, custom_job=job)


def test_jobs_are_listed_by_label_and_state_across_pages(
    job_client: Any, fake_vertex: Any, probe_image: str
) -> None:
    names = [
        job_client.create_custom_job(
            parent=PARENT, custom_job=custom_job(probe_image, labels={"run": run})
        ).name
        for run in ("r1", "r1", "r1", "r2")
    ]
    for name in names:
        fake_vertex.wait_for_job(name)

    def listed(filter_text: str) -> list[str]:
        request = {"parent": PARENT, "filter": filter_text, "page_size": 2}
        return sorted(job.name for job in job_client.list_custom_jobs(request=request))

    assert listed('labels.run="r1"') == sorted(names[:3])
    assert listed('labels.run="r2" AND state="JOB_STATE_SUCCEEDED"') == [names[3]]
    assert listed('labels.run="r2" AND state!="JOB_STATE_SUCCEEDED"') == []


def test_delete_returns_a_done_operation_and_refuses_unfinished_jobs(
    job_client: Any, fake_vertex: Any, probe_image: str
) -> None:
    from google.api_core.exceptions import FailedPrecondition, NotFound
    from google.cloud import aiplatform_v1

    running = job_client.create_custom_job(
        parent=PARENT, custom_job=custom_job(probe_image, "sleep=120")
    )
    with pytest.raises(FailedPrecondition, match="only a finished job can be deleted"):
        job_client.delete_custom_job(name=running.name)
    job_client.cancel_custom_job(name=running.name)
    fake_vertex.wait_for_job(running.name)

    operation = job_client.delete_custom_job(name=running.name)

    assert operation.done()
    assert operation.result(timeout=5) is not None
    assert isinstance(operation.metadata, aiplatform_v1.DeleteOperationMetadata)
    assert job_client.get_operation(request={"name": operation.operation.name}).done
    with pytest.raises(NotFound):
        job_client.get_custom_job(name=running.name)


def test_get_of_an_unknown_job_is_not_found_and_every_call_is_counted(
    job_client: Any, fake_vertex: Any
) -> None:
    from google.api_core.exceptions import InvalidArgument, NotFound

    with pytest.raises(NotFound):
        job_client.get_custom_job(name=f"{PARENT}/customJobs/42")
    with pytest.raises(InvalidArgument, match="customJobs/NUMERIC_ID"):
        job_client.get_custom_job(name=f"{PARENT}/customJobs/abc")

    assert fake_vertex.call_count("GetCustomJob") == 2


# --- servers of their own ----------------------------------------------------------------


def test_job_cancelled_while_queued_ends_cancelled_without_starting(
    make_vertex: Callable[..., tuple[Any, Any]], probe_image: str
) -> None:
    from google.cloud.aiplatform_v1 import JobState

    server, client = make_vertex(queue_seconds=30)
    job = client.create_custom_job(parent=PARENT, custom_job=custom_job(probe_image, "sleep=60"))
    assert client.get_custom_job(name=job.name).state == JobState.JOB_STATE_QUEUED

    client.cancel_custom_job(name=job.name)
    job = server.wait_for_job(job.name, timeout=10)

    assert job.state == JobState.JOB_STATE_CANCELLED
    assert "start_time" not in job and "end_time" in job
    assert server.launcher.leftovers() == []


def test_stopping_the_server_kills_and_removes_running_containers(
    make_vertex: Callable[..., tuple[Any, Any]], probe_image: str
) -> None:
    server, client = make_vertex(cancel_grace_seconds=30)
    job = client.create_custom_job(parent=PARENT, custom_job=custom_job(probe_image, "sleep=120"))
    eventually(server.launcher.leftovers, bool)

    started = time.monotonic()
    server.stop()

    assert server.launcher.leftovers() == []
    assert time.monotonic() - started < 10
    assert server.jobs.snapshot(server.jobs.find(job.name)).state.name == "JOB_STATE_CANCELLED"


def test_machine_memory_limits_the_container_when_asked(
    make_vertex: Callable[..., tuple[Any, Any]], probe_image: str
) -> None:
    server, client = make_vertex(apply_machine_memory=True, cancel_grace_seconds=0)
    job = custom_job(probe_image, "sleep=60")
    job.job_spec.worker_pool_specs[0].machine_spec.machine_type = "e2-highcpu-2"
    job = client.create_custom_job(parent=PARENT, custom_job=job)

    containers = eventually(server.launcher.leftovers, bool)
    client.cancel_custom_job(name=job.name)
    server.wait_for_job(job.name)

    assert containers[0].attrs["HostConfig"]["Memory"] == 2 * 1024**3


def test_machine_types_map_to_their_memory_and_registry_prefixes_are_rewritten() -> None:
    from fakes.containers import ContainerLauncher, machine_memory_bytes

    launcher = ContainerLauncher(None, "x", {"europe-docker.pkg.dev/p/r": "localhost:5000/r"})

    assert machine_memory_bytes("n1-standard-4") == 15 * 1024**3
    assert machine_memory_bytes("e2-highmem-2") == 16 * 1024**3
    assert machine_memory_bytes("a3-megagpu-8g") is None
    assert launcher.resolve_image("europe-docker.pkg.dev/p/r/img:1") == "localhost:5000/r/img:1"
    assert launcher.resolve_image("europe-docker.pkg.dev/p/rx/img:1").startswith("europe")


# --- Cloud Logging alone ------------------------------------------------------------------


def test_unavailable_log_reads_are_retried_by_the_client_by_default(
    logging_client: Any, fake_logging: Any
) -> None:
    fake_logging.fail_next("ListLogEntries", grpc.StatusCode.UNAVAILABLE, n=2)

    list(logging_client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"]}))

    assert fake_logging.call_count("ListLogEntries") == 3


def test_written_entries_are_listed_and_unsupported_filters_are_refused(
    logging_client: Any,
) -> None:
    from google.api_core.exceptions import InvalidArgument

    logging_client.write_log_entries(
        request={
            "log_name": f"projects/{PROJECT}/logs/app",
            "resource": {"type": "global", "labels": {"stage": "test"}},
            "entries": [{"text_payload": "one", "severity": "WARNING"}, {"text_payload": "two"}],
        }
    )
    listed = logging_client.list_log_entries(
        request={
            "resource_names": [f"projects/{PROJECT}"],
            "filter": 'resource.labels.stage="test" AND severity>=WARNING',
        }
    )

    assert [entry.text_payload for entry in listed] == ["one"]
    with pytest.raises(InvalidArgument, match="OR is not supported"):
        list(
            logging_client.list_log_entries(
                request={"resource_names": [f"projects/{PROJECT}"], "filter": "a=1 OR b=2"}
            )
        )


def test_rfc3339_timestamps_round_trip_to_the_nanosecond() -> None:
    from fakes.log_filter import ns_to_rfc3339, rfc3339_to_ns

    assert rfc3339_to_ns("2024-05-01T12:00:00.123456789Z") == 1714564800123456789
    assert rfc3339_to_ns("2024-05-01T14:00:00.5+02:00") == 1714564800500000000
    assert ns_to_rfc3339(1714564800123456789) == "2024-05-01T12:00:00.123456789Z"


def test_filter_terms_are_parsed_with_quotes_and_implicit_and() -> None:
    from fakes.filter_syntax import FilterError, Term, parse_filter

    assert parse_filter('labels.a="x \\" y" state!=JOB_STATE_FAILED') == [
        Term("labels.a", "=", 'x " y'),
        Term("state", "!=", "JOB_STATE_FAILED"),
    ]
    with pytest.raises(FilterError, match="ends with AND"):
        parse_filter('a="1" AND')
