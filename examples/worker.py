"""A job worker for examples/wf3_jobs.bpmn, written with pyzeebe against Baton's Zeebe gateway.

    pip install pyzeebe==4.7.0
    python examples/worker.py          # ZEEBE_ADDRESS defaults to 127.0.0.1:26500
"""

import asyncio
import os

from pyzeebe import ZeebeWorker, create_insecure_channel


async def main() -> None:
    channel = create_insecure_channel(grpc_address=os.environ.get("ZEEBE_ADDRESS", "127.0.0.1:26500"))
    worker = ZeebeWorker(channel, name="example-worker")

    @worker.task(task_type="step1")
    async def step1() -> dict:
        return {"x": 1}

    @worker.task(task_type="step2")
    async def step2() -> dict:
        return {"x": 2}

    @worker.task(task_type="step3")
    async def step3() -> dict:
        return {"x": 3}

    await worker.work()


if __name__ == "__main__":
    asyncio.run(main())
