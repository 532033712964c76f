"""End-to-end tests: the real `baton serve` binary driven by pyzeebe, the Python Zeebe client,
and by the `baton` CLI.

Run through e2e/run.sh (it builds the binary and prepares the venv), or directly with
`BATON_BIN=target/debug/baton e2e/.venv/bin/python e2e/test_pyzeebe.py`.

The server runs as a subprocess on free loopback ports with a temporary data dir and is stopped
by PID at the end, even when a test fails. Prints one line per test and a final
`<N> passed, <M> failed`; exits non-zero if anything failed.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import grpc
from pyzeebe import Job, ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import (
    BusinessError,
    ProcessDefinitionNotFoundError,
    ProcessInstanceNotFoundError,
    ProcessInvalidError,
)

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
BATON = os.environ.get("BATON_BIN", str(HERE.parent / "target" / "debug" / "baton"))
READY_PREFIX = "baton listening: "
STARTUP_TIMEOUT_S = 60


class Server:
    """One `baton serve` process on ephemeral ports (port 0; the ready line names the real ones)."""

    def __init__(self, data_dir: Path, log_path: Path):
        self.data_dir = data_dir
        self.log_path = log_path
        self.process = None
        self.grpc = None
        self.http = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                BATON, "serve",
                "--data-dir", str(self.data_dir),
                "--grpc-addr", "127.0.0.1:0",
                "--http-addr", "127.0.0.1:0",
                "--partitions", "2",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
        )
        ready = threading.Event()

        def read_stdout():
            # Keeps draining stdout after the ready line so the server never blocks on a full pipe.
            for line in self.process.stdout:
                if line.startswith(READY_PREFIX):
                    fields = dict(part.split("=", 1) for part in line[len(READY_PREFIX):].split())
                    self.grpc, self.http = fields["grpc"], fields["http"]
                    ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not ready.wait(0.1):
            if self.process.poll() is not None:
                raise RuntimeError(f"baton serve exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"baton serve was not ready within {STARTUP_TIMEOUT_S}s; see {self.log_path}")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM (graceful), then SIGKILL if it does not stop in time. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9


def cli(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs the `baton` client against the server."""
    result = subprocess.run(
        [BATON, *args, "--address", f"http://{server.grpc}"],
        capture_output=True, text=True, timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"baton {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def cli_json(server: Server, *args: str):
    return json.loads(cli(server, *args, "--json").stdout)


async def wait_for(predicate, timeout: float = 15, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


# ------------------------------------------------------------------------------------------------
# Tests. Each takes the shared context; they run in this order (later ones use earlier deployments).


class Context:
    def __init__(self, server: Server):
        self.server = server
        self.channel = create_insecure_channel(grpc_address=server.grpc)
        self.client = ZeebeClient(self.channel)
        self.worker = None
        self.worker_task = None
        self.flaky_should_fail = True


async def test_healthcheck(ctx: Context):
    response = await ctx.client.healthcheck()
    assert response.status == 1, f"expected SERVING (1), got {response.status}"  # SERVING


async def test_topology(ctx: Context):
    topology = await ctx.client.topology()
    assert topology.cluster_size == 1, topology
    assert topology.partitions_count == 2, topology
    assert topology.gateway_version.startswith("8."), topology
    assert len(topology.brokers) == 1 and len(topology.brokers[0].partitions) == 2, topology


async def test_http_health(ctx: Context):
    import urllib.request

    with urllib.request.urlopen(f"http://{ctx.server.http}/health", timeout=5) as response:
        assert response.status == 200


async def test_deploy(ctx: Context):
    response = await ctx.client.deploy_resource(str(FIXTURES / "order.bpmn"), str(FIXTURES / "single_task.bpmn"))
    ids = sorted(d.bpmn_process_id for d in response.deployments)
    assert ids == ["e2e_order", "e2e_single"], response
    assert all(d.version == 1 and d.tenant_id == "<default>" for d in response.deployments), response
    assert response.key > 0


async def test_deploy_a_form(ctx: Context):
    response = await ctx.client.deploy_resource(str(FIXTURES / "approval.form"))
    [form] = response.deployments
    assert form.form_id == "e2e_approval" and form.version == 1, response
    assert form.resource_name == "approval.form" and form.form_key > 0, response


async def test_deploy_invalid_model_names_the_element(ctx: Context):
    try:
        await ctx.client.deploy_resource(str(FIXTURES / "invalid.bpmn"))
    except ProcessInvalidError as error:
        cause = error.__cause__
        assert isinstance(cause, grpc.aio.AioRpcError), repr(cause)
        assert cause.code() == grpc.StatusCode.INVALID_ARGUMENT, cause
        assert "Task_NoType" in cause.details(), cause.details()
    else:
        raise AssertionError("deploying an invalid model succeeded")
    # The CLI prints the same status; its text starts with the code name.
    result = cli(ctx.server, "deploy", str(FIXTURES / "invalid.bpmn"), check=False)
    assert result.returncode == 1, result
    message = result.stderr.removeprefix("baton: ")
    assert message.startswith("INVALID_ARGUMENT: "), result.stderr
    assert "Task_NoType" in message, result.stderr


async def test_create_unknown_process_is_not_found(ctx: Context):
    try:
        await ctx.client.run_process("e2e_no_such_process")
    except ProcessDefinitionNotFoundError:
        pass
    else:
        raise AssertionError("created an instance of an unknown process")


async def test_cancel_instance(ctx: Context):
    # Runs before any worker exists, so the instance waits at its service task.
    created = await ctx.client.run_process("e2e_single", {"purpose": "cancel"})
    assert created.process_instance_key > 0
    await ctx.client.cancel_process_instance(created.process_instance_key)
    try:
        await ctx.client.cancel_process_instance(created.process_instance_key)
    except ProcessInstanceNotFoundError:
        pass
    else:
        raise AssertionError("cancelling twice succeeded")
    # Cancelling removed the job: nothing is left to activate.
    jobs = cli_json(ctx.server, "jobs", "activate", "e2e-flaky")
    assert jobs == [], jobs


async def start_worker(ctx: Context):
    worker = ZeebeWorker(ctx.channel, name="e2e-worker", stream_enabled=True)

    @worker.task(task_type="e2e-reserve")
    async def reserve(job: Job, orderId: int):
        return {"reserved": orderId, "warehouse": job.custom_headers.get("warehouse")}

    @worker.task(task_type="e2e-charge")
    async def charge(amount: float):
        return {"charged": amount}

    @worker.task(task_type="e2e-ship")
    async def ship(reserved: int, charged: float):
        return {"shipped": True, "label": f"order-{reserved}-{charged}"}

    @worker.task(task_type="e2e-flaky")
    async def flaky(mode: str = "fail"):
        if mode == "error":
            raise BusinessError("E_UNHANDLED", "nobody catches this")
        if mode == "fail" and ctx.flaky_should_fail:
            raise RuntimeError("flaky failure")
        return {"flaky": "done"}

    ctx.worker = worker
    ctx.worker_task = asyncio.create_task(worker.work())


async def test_worker_completes_three_tasks_with_result(ctx: Context):
    await start_worker(ctx)
    result = await ctx.client.run_process_with_result(
        "e2e_order", {"orderId": 42, "amount": 9.5}, timeout=30_000
    )
    assert result.variables == {
        "orderId": 42,
        "amount": 9.5,
        "reserved": 42,
        "warehouse": "north",
        "charged": 9.5,
        "shipped": True,
        "label": "order-42-9.5",
    }, result.variables
    assert result.bpmn_process_id == "e2e_order"


async def test_fetch_variables_with_result(ctx: Context):
    result = await ctx.client.run_process_with_result(
        "e2e_order", {"orderId": 1, "amount": 2}, timeout=30_000, variables_to_fetch=["label"]
    )
    assert result.variables == {"label": "order-1-2"}, result.variables


async def test_many_instances_in_parallel(ctx: Context):
    results = await asyncio.gather(*(
        ctx.client.run_process_with_result("e2e_order", {"orderId": i, "amount": i}, timeout=30_000)
        for i in range(20)
    ))
    assert sorted(r.variables["reserved"] for r in results) == list(range(20))
    assert len({r.process_instance_key for r in results}) == 20


async def incidents_of(ctx: Context, instance_key: int):
    return cli_json(ctx.server, "incidents", "--process-instance", str(instance_key))


async def test_failed_job_raises_incident_then_resolve(ctx: Context):
    # retries="1" in the model: pyzeebe fails the job with retries 0, which raises an incident.
    created = await ctx.client.run_process("e2e_single", {"mode": "fail"})
    key = created.process_instance_key
    incidents = await wait_for(lambda: incidents_of(ctx, key), what="an incident")
    assert len(incidents) == 1, incidents
    incident = incidents[0]
    assert incident["errorType"] == "JOB_NO_RETRIES", incident
    assert "flaky failure" in incident["errorMessage"], incident
    assert incident["elementId"] == "work", incident

    # The operator fixes the cause, gives the job retries back and resolves the incident.
    ctx.flaky_should_fail = False
    cli(ctx.server, "jobs", "retries", str(incident["jobKey"]), "1")
    cli(ctx.server, "resolve", str(incident["key"]))
    assert await incidents_of(ctx, key) == []
    # Resolving an incident twice is NOT_FOUND: exit code 1.
    again = cli(ctx.server, "resolve", str(incident["key"]), check=False)
    assert again.returncode == 1 and "NOT_FOUND" in again.stderr, again


async def test_resolved_instance_completes(ctx: Context):
    ctx.flaky_should_fail = False
    result = await ctx.client.run_process_with_result("e2e_single", {"mode": "fail"}, timeout=30_000)
    assert result.variables.get("flaky") == "done", result.variables


async def test_uncaught_business_error_raises_incident(ctx: Context):
    created = await ctx.client.run_process("e2e_single", {"mode": "error"})
    incidents = await wait_for(lambda: incidents_of(ctx, created.process_instance_key), what="an incident")
    assert incidents[0]["errorType"] == "UNHANDLED_ERROR_EVENT", incidents
    assert "E_UNHANDLED" in incidents[0]["errorMessage"], incidents
    await ctx.client.cancel_process_instance(created.process_instance_key)
    assert await incidents_of(ctx, created.process_instance_key) == []


async def test_deploy_event_models(ctx: Context):
    response = await ctx.client.deploy_resource(str(FIXTURES / "events.bpmn"))
    assert sorted(d.bpmn_process_id for d in response.deployments) == ["e2e_error", "e2e_message"], response


async def test_published_message_reaches_the_waiting_instance(ctx: Context):
    waiting = asyncio.create_task(
        ctx.client.run_process_with_result("e2e_message", {"orderId": "o-7"}, timeout=30_000)
    )
    # Publish until the instance has opened its subscription: a message with TTL 0 that finds no
    # subscription is dropped, as in Zeebe.
    for _ in range(100):
        await ctx.client.publish_message("payment-received", "o-7", {"paid": True}, time_to_live_in_milliseconds=0)
        done, _ = await asyncio.wait({waiting}, timeout=0.1)
        if done:
            break
    result = await waiting
    assert result.variables == {"orderId": "o-7", "paid": True}, result.variables


async def test_buffered_message_correlates_when_the_instance_arrives(ctx: Context):
    await ctx.client.publish_message(
        "payment-received", "o-8", {"amount": 12}, time_to_live_in_milliseconds=60_000, message_id="pay-o-8"
    )
    try:
        await ctx.client.publish_message(
            "payment-received", "o-8", {}, time_to_live_in_milliseconds=60_000, message_id="pay-o-8"
        )
    except Exception as error:  # noqa: BLE001 - pyzeebe raises its own error types
        cause = getattr(error, "grpc_error", None) or error.__cause__
        assert isinstance(cause, grpc.aio.AioRpcError), repr(error)
        assert cause.code() == grpc.StatusCode.ALREADY_EXISTS, cause
    else:
        raise AssertionError("a duplicate message id was accepted")
    result = await ctx.client.run_process_with_result("e2e_message", {"orderId": "o-8"}, timeout=30_000)
    assert result.variables == {"orderId": "o-8", "amount": 12}, result.variables


async def test_cli_publish_correlates_a_buffered_message(ctx: Context):
    published = cli_json(ctx.server, "publish", "payment-received", "--key", "o-9", "--vars", '{"via": "cli"}', "--ttl", "1m")
    assert int(published["key"]) > 0, published
    result = await ctx.client.run_process_with_result("e2e_message", {"orderId": "o-9"}, timeout=30_000)
    assert result.variables == {"orderId": "o-9", "via": "cli"}, result.variables


async def test_business_error_is_caught_by_a_boundary_event(ctx: Context):
    worker = ZeebeWorker(ctx.channel, name="e2e-risky-worker")

    @worker.task(task_type="e2e-risky")
    async def risky(amount: int):
        if amount > 100:
            raise BusinessError("DECLINED", "card declined")
        return {"charged": amount}

    task = asyncio.create_task(worker.work())
    try:
        declined = await ctx.client.run_process_with_result("e2e_error", {"amount": 500}, timeout=30_000)
        assert declined.variables == {"amount": 500, "outcome": "declined"}, declined.variables
        charged = await ctx.client.run_process_with_result("e2e_error", {"amount": 5}, timeout=30_000)
        assert charged.variables == {"amount": 5, "charged": 5}, charged.variables
    finally:
        await worker.stop()
        task.cancel()


async def test_execution_listeners_run_around_a_task(ctx: Context):
    await ctx.client.deploy_resource(str(FIXTURES / "listeners.bpmn"))
    worker = ZeebeWorker(ctx.channel, name="e2e-listener-worker")
    seen = []

    @worker.task(task_type="e2e-el-start")
    async def before():
        seen.append("start")
        return {"checkedBefore": True}

    @worker.task(task_type="e2e-listened")
    async def listened():
        seen.append("task")
        return {"worked": True}

    @worker.task(task_type="e2e-el-end")
    async def after():
        seen.append("end")
        return {"audited": True}

    task = asyncio.create_task(worker.work())
    try:
        result = await ctx.client.run_process_with_result("e2e_listeners", {}, timeout=30_000)
        assert seen == ["start", "task", "end"], seen
        # A start listener's variables are local to the task; an end listener's reach the process.
        assert result.variables == {"worked": True, "audited": True}, result.variables
    finally:
        await worker.stop()
        task.cancel()


async def test_ad_hoc_subprocess_runs_the_listed_elements_and_collects_their_results(ctx: Context):
    await ctx.client.deploy_resource(str(FIXTURES / "ad_hoc.bpmn"))
    worker = ZeebeWorker(ctx.channel, name="e2e-ad-hoc-worker")
    seen = []

    @worker.task(task_type="e2e-ah-credit")
    async def credit():
        seen.append("credit")
        return {"result": "credit ok"}

    @worker.task(task_type="e2e-ah-fraud")
    async def fraud():
        seen.append("fraud")
        return {"result": "fraud ok"}

    task = asyncio.create_task(worker.work())
    try:
        to_do = ["Check_Credit", "Check_Address"]
        result = await ctx.client.run_process_with_result("e2e_ad_hoc", {"toDo": to_do}, timeout=30_000)
        assert seen == ["credit"], seen
        # Each element's `result` stays in its own flow; only the collection leaves the subprocess.
        assert sorted(result.variables) == ["results", "toDo"], result.variables
        assert sorted(result.variables["results"]) == ["address ok", "credit ok"], result.variables
    finally:
        await worker.stop()
        task.cancel()


async def test_deploy_feature_models(ctx: Context):
    response = await ctx.client.deploy_resource(str(FIXTURES / "features.bpmn"))
    ids = sorted(d.bpmn_process_id for d in response.deployments)
    assert ids == [
        "e2e_child", "e2e_delete_me", "e2e_message_start", "e2e_modify", "e2e_parent", "e2e_signal"
    ], response


async def test_broadcast_signal_reaches_the_waiting_instance(ctx: Context):
    waiting = asyncio.create_task(ctx.client.run_process_with_result("e2e_signal", {"n": 1}, timeout=30_000))
    # Broadcast until the instance has opened its subscription: a signal reaches only the
    # subscriptions open when it is broadcast.
    for _ in range(100):
        response = await ctx.client.broadcast_signal("e2e-go", {"via": "signal"})
        assert response.key > 0, response
        done, _ = await asyncio.wait({waiting}, timeout=0.1)
        if done:
            break
    result = await waiting
    assert result.variables == {"n": 1, "via": "signal"}, result.variables


async def test_multi_instance_call_activity_collects_the_children_results(ctx: Context):
    result = await ctx.client.run_process_with_result("e2e_parent", {"items": [1, 2, 3]}, timeout=30_000)
    assert result.variables == {"items": [1, 2, 3], "results": [2, 4, 6]}, result.variables


async def test_message_start_event_starts_an_instance(ctx: Context):
    worker = ZeebeWorker(ctx.channel, name="e2e-message-start-worker")
    seen: asyncio.Future = asyncio.get_running_loop().create_future()

    @worker.task(task_type="e2e-record-order")
    async def record_order(job: Job):
        if not seen.done():
            seen.set_result(job.variables)
        return {}

    task = asyncio.create_task(worker.work())
    try:
        await ctx.client.publish_message("e2e-order-created", "", {"orderId": "o-77"}, time_to_live_in_milliseconds=0)
        variables = await asyncio.wait_for(seen, timeout=30)
        assert variables.get("orderId") == "o-77", variables
    finally:
        await worker.stop()
        task.cancel()


async def test_business_rule_task_evaluates_a_deployed_decision(ctx: Context):
    response = await ctx.client.deploy_resource(str(FIXTURES / "discount.dmn"), str(FIXTURES / "discount.bpmn"))
    assert any(getattr(d, "dmn_decision_id", None) == "e2e_discount" for d in response.deployments), response
    big = await ctx.client.run_process_with_result("e2e_discount_process", {"total": 250}, timeout=30_000)
    assert big.variables == {"total": 250, "discount": 10}, big.variables
    small = await ctx.client.run_process_with_result("e2e_discount_process", {"total": 5}, timeout=30_000)
    assert small.variables == {"total": 5, "discount": 0}, small.variables


async def test_cli_status_create_and_exit_codes(ctx: Context):
    status = cli_json(ctx.server, "status")
    assert status["partitionsCount"] == 2, status
    deployed = cli_json(ctx.server, "deploy", str(FIXTURES / "order.bpmn"))
    # Same bytes again: the existing version is named, no new one is made.
    assert deployed["processes"][0]["version"] == 1, deployed
    # In a thread: the pyzeebe worker that completes the jobs runs on this event loop.
    created = await asyncio.to_thread(
        cli_json, ctx.server, "create", "e2e_order", "--vars", '{"orderId": 5, "amount": 1}', "--with-result"
    )
    assert created["variables"]["shipped"] is True, created
    bad_vars = cli(ctx.server, "create", "e2e_order", "--vars", "[1]", check=False)
    assert bad_vars.returncode == 1 and "INVALID_ARGUMENT" in bad_vars.stderr, bad_vars
    usage = subprocess.run([BATON, "jobs", "fail", "1"], capture_output=True, text=True)
    assert usage.returncode == 2, usage
    unreachable = subprocess.run(
        [BATON, "status", "--address", "http://127.0.0.1:1"], capture_output=True, text=True, timeout=30
    )
    assert unreachable.returncode == 3, unreachable


async def stop_worker(ctx: Context):
    if ctx.worker is not None:
        await ctx.worker.stop()
    if ctx.worker_task is not None:
        ctx.worker_task.cancel()
        try:
            await ctx.worker_task
        except (asyncio.CancelledError, Exception):
            pass
    ctx.worker = ctx.worker_task = None


TESTS = [
    test_healthcheck,
    test_topology,
    test_http_health,
    test_deploy,
    test_deploy_a_form,
    test_execution_listeners_run_around_a_task,
    test_ad_hoc_subprocess_runs_the_listed_elements_and_collects_their_results,
    test_deploy_invalid_model_names_the_element,
    test_create_unknown_process_is_not_found,
    test_cancel_instance,
    test_worker_completes_three_tasks_with_result,
    test_fetch_variables_with_result,
    test_many_instances_in_parallel,
    test_failed_job_raises_incident_then_resolve,
    test_resolved_instance_completes,
    test_uncaught_business_error_raises_incident,
    test_deploy_event_models,
    test_published_message_reaches_the_waiting_instance,
    test_buffered_message_correlates_when_the_instance_arrives,
    test_cli_publish_correlates_a_buffered_message,
    test_business_error_is_caught_by_a_boundary_event,
    test_deploy_feature_models,
    test_broadcast_signal_reaches_the_waiting_instance,
    test_multi_instance_call_activity_collects_the_children_results,
    test_message_start_event_starts_an_instance,
    test_business_rule_task_evaluates_a_deployed_decision,
    test_cli_status_create_and_exit_codes,
]


async def run_tests(server: Server) -> tuple[int, int]:
    passed = failed = 0
    ctx = Context(server)
    try:
        for test in TESTS:
            started = time.monotonic()
            try:
                await asyncio.wait_for(test(ctx), timeout=90)
            except BaseException as error:  # noqa: BLE001 - report and go on with the next test
                if isinstance(error, KeyboardInterrupt):
                    raise
                failed += 1
                print(f"FAIL {test.__name__}: {error!r}", flush=True)
                traceback.print_exc()
            else:
                passed += 1
                print(f"PASS {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
    finally:
        await stop_worker(ctx)
        await ctx.channel.close()
    return passed, failed


async def test_restart_keeps_deployments(server: Server):
    """After a graceful stop, a new server on the same data dir still knows the processes."""
    code = server.stop()
    assert code == 0, f"baton serve exited with {code} on SIGTERM"
    server.start()
    channel = create_insecure_channel(grpc_address=server.grpc)
    try:
        client = ZeebeClient(channel)
        created = await client.run_process("e2e_order", {"orderId": 1, "amount": 1})
        assert created.version == 1, created
    finally:
        await channel.close()


async def run_all(server: Server) -> tuple[int, int]:
    # One event loop for every test: grpc.aio channels are bound to the loop that made them.
    passed, failed = await run_tests(server)
    try:
        await test_restart_keeps_deployments(server)
    except BaseException as error:  # noqa: BLE001
        failed += 1
        print(f"FAIL test_restart_keeps_deployments: {error!r}", flush=True)
        traceback.print_exc()
    else:
        passed += 1
        print("PASS test_restart_keeps_deployments", flush=True)
    return passed, failed


def main() -> int:
    if not Path(BATON).exists():
        print(f"baton binary not found at {BATON}; build it or set BATON_BIN", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="baton-e2e-") as tmp:
        server = Server(Path(tmp) / "data", Path(tmp) / "server.log")
        passed = failed = 0
        try:
            server.start()
            print(f"server ready: grpc={server.grpc} http={server.http}", flush=True)
            passed, failed = asyncio.run(run_all(server))
        except Exception as error:  # noqa: BLE001 - the server did not start
            failed += 1
            print(f"FAIL server: {error!r}", flush=True)
        finally:
            code = server.stop()
            if code != 0:
                failed += 1
                print(f"FAIL graceful_stop: baton serve exited with {code} on SIGTERM", flush=True)
            if failed:
                print(f"--- server log ({server.log_path}) ---", flush=True)
                try:
                    print(server.log_path.read_text()[-20000:], flush=True)
                except OSError:
                    pass
        print(f"{passed} passed, {failed} failed", flush=True)
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
