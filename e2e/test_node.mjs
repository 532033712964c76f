// End-to-end tests: the real `baton serve` binary driven by the Camunda 8 JavaScript SDK's
// Zeebe gRPC client. Run through `E2E_NODE=1 e2e/run.sh`, or directly with
// `BATON_BIN=target/debug/baton node e2e/test_node.mjs` after `npm install` in e2e/.
// Prints one line per test and a final `<N> passed, <M> failed`; exits non-zero on failure.

import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import assert from 'node:assert/strict'

import { Camunda8 } from '@camunda8/sdk'

import { baton, fixtures, run, sleep, waitFor } from './harness.mjs'

/** Runs the `baton` CLI against the server (async: workers share this event loop) and parses its JSON. */
async function cliJson(address, ...args) {
  const { stdout } = await promisify(execFile)(baton, [...args, '--address', `http://${address}`, '--json'], { timeout: 60_000 })
  // Keys are int64: quote the long ones so none loses precision as a JS number.
  return JSON.parse(stdout.replace(/(:\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'))
}

const tests = []
const test = (name, fn) => tests.push({ name, fn })

test('topology', async ({ zeebe }) => {
  const topology = await zeebe.topology()
  assert.equal(topology.clusterSize, 1)
  assert.equal(topology.partitionsCount, 2)
  assert.match(topology.gatewayVersion, /^8\./)
})

test('deploy', async ({ zeebe }) => {
  const response = await zeebe.deployResource({ processFilename: join(fixtures, 'order.bpmn') })
  assert.equal(response.deployments[0].process.bpmnProcessId, 'e2e_order')
  assert.equal(response.deployments[0].process.tenantId, '<default>')
})

test('invalid model is INVALID_ARGUMENT naming the element', async ({ zeebe }) => {
  await assert.rejects(
    zeebe.deployResource({ processFilename: join(fixtures, 'invalid.bpmn') }),
    (error) => {
      assert.match(error.message, /^3 INVALID_ARGUMENT:/)
      assert.match(error.message, /Task_NoType/)
      return true
    },
  )
})

test('unknown process is NOT_FOUND', async ({ zeebe }) => {
  await assert.rejects(
    zeebe.createProcessInstance({ bpmnProcessId: 'e2e_no_such_process', variables: {} }),
    (error) => /^5 NOT_FOUND:/.test(error.message),
  )
})

test('worker completes three tasks; result has the variables', async ({ zeebe }) => {
  const workers = [
    zeebe.createWorker({
      taskType: 'e2e-reserve',
      taskHandler: (job) => job.complete({ reserved: job.variables.orderId, warehouse: job.customHeaders.warehouse }),
    }),
    zeebe.createWorker({ taskType: 'e2e-charge', taskHandler: (job) => job.complete({ charged: job.variables.amount }) }),
    zeebe.createWorker({ taskType: 'e2e-ship', taskHandler: (job) => job.complete({ shipped: true }) }),
  ]
  try {
    const result = await zeebe.createProcessInstanceWithResult({
      bpmnProcessId: 'e2e_order',
      variables: { orderId: 7, amount: 3 },
      requestTimeout: 30_000,
    })
    assert.deepEqual(result.variables, {
      orderId: 7, amount: 3, reserved: 7, warehouse: 'north', charged: 3, shipped: true,
    })
  } finally {
    await Promise.all(workers.map((worker) => worker.close()))
  }
})

test('cancel', async ({ zeebe }) => {
  const created = await zeebe.createProcessInstance({ bpmnProcessId: 'e2e_order', variables: { orderId: 1, amount: 1 } })
  await zeebe.cancelProcessInstance(created.processInstanceKey)
  await assert.rejects(zeebe.cancelProcessInstance(created.processInstanceKey), (error) => /^5 NOT_FOUND:/.test(error.message))
})

test('deploy event models', async ({ zeebe }) => {
  const events = await zeebe.deployResource({ processFilename: join(fixtures, 'events.bpmn') })
  assert.deepEqual(events.deployments.map((d) => d.process.bpmnProcessId).sort(), ['e2e_error', 'e2e_message'])
  const single = await zeebe.deployResource({ processFilename: join(fixtures, 'single_task.bpmn') })
  assert.equal(single.deployments[0].process.bpmnProcessId, 'e2e_single')
})

test('published message reaches the waiting instance', async ({ zeebe }) => {
  let done = false
  const waiting = zeebe.createProcessInstanceWithResult({
    bpmnProcessId: 'e2e_message', variables: { orderId: 'o-7' }, requestTimeout: 30_000,
  }).finally(() => { done = true })
  waiting.catch(() => {}) // awaited below; keeps an early rejection from being unhandled
  // Publish until the instance has opened its subscription: a message with TTL 0 that finds no
  // subscription is dropped, as in Zeebe.
  for (let i = 0; i < 100 && !done; i++) {
    await zeebe.publishMessage({ name: 'payment-received', correlationKey: 'o-7', variables: { paid: true }, timeToLive: 0 })
    await Promise.race([waiting.catch(() => {}), sleep(100)])
  }
  const result = await waiting
  assert.deepEqual(result.variables, { orderId: 'o-7', paid: true })
})

test('buffered message correlates when the instance arrives; duplicate id is ALREADY_EXISTS', async ({ zeebe }) => {
  const message = { name: 'payment-received', correlationKey: 'o-8', timeToLive: 60_000, messageId: 'pay-o-8' }
  await zeebe.publishMessage({ ...message, variables: { amount: 12 } })
  await assert.rejects(zeebe.publishMessage({ ...message, variables: {} }), (error) => {
    assert.equal(error.code, 6)
    assert.match(error.message, /^6 ALREADY_EXISTS:/)
    return true
  })
  const result = await zeebe.createProcessInstanceWithResult({
    bpmnProcessId: 'e2e_message', variables: { orderId: 'o-8' }, requestTimeout: 30_000,
  })
  assert.deepEqual(result.variables, { orderId: 'o-8', amount: 12 })
})

test('business error is caught by a boundary event', async ({ zeebe }) => {
  const worker = zeebe.createWorker({
    taskType: 'e2e-risky',
    taskHandler: (job) => (job.variables.amount > 100
      ? job.error('DECLINED', 'card declined')
      : job.complete({ charged: job.variables.amount })),
  })
  try {
    const declined = await zeebe.createProcessInstanceWithResult({
      bpmnProcessId: 'e2e_error', variables: { amount: 500 }, requestTimeout: 30_000,
    })
    assert.deepEqual(declined.variables, { amount: 500, outcome: 'declined' })
    const charged = await zeebe.createProcessInstanceWithResult({
      bpmnProcessId: 'e2e_error', variables: { amount: 5 }, requestTimeout: 30_000,
    })
    assert.deepEqual(charged.variables, { amount: 5, charged: 5 })
  } finally {
    await worker.close()
  }
})

test('failed job raises an incident; retries + resolve let a worker complete it', async ({ zeebe, address }) => {
  // retries="1" in the model; the worker fails the job with retries 0, which raises an incident.
  let failing = true
  const activations = []
  const worker = zeebe.createWorker({
    taskType: 'e2e-flaky',
    taskHandler: (job) => {
      activations.push({ key: job.key, processInstanceKey: job.processInstanceKey, retries: job.retries })
      return failing
        ? job.fail({ errorMessage: 'flaky failure', retries: 0 })
        : job.complete({ flaky: 'done' })
    },
  })
  try {
    let done = false
    const waiting = zeebe.createProcessInstanceWithResult({
      bpmnProcessId: 'e2e_single', variables: { mode: 'fail' }, requestTimeout: 60_000,
    }).finally(() => { done = true })
    waiting.catch(() => {}) // awaited below
    const first = await waitFor(() => activations[0], 'the first activation')
    const instanceKey = first.processInstanceKey
    const incidents = await waitFor(async () => {
      const list = await cliJson(address, 'incidents', '--process-instance', String(instanceKey))
      return list.length ? list : null
    }, 'an incident')
    assert.equal(incidents.length, 1, JSON.stringify(incidents))
    const [incident] = incidents
    assert.equal(incident.errorType, 'JOB_NO_RETRIES')
    assert.match(incident.errorMessage, /flaky failure/)
    assert.equal(incident.elementId, 'work')
    assert.equal(String(incident.jobKey), String(first.key))
    // No retries left: nothing is activated while the incident is open.
    await sleep(500)
    assert.equal(activations.length, 1)
    assert.equal(done, false)

    // The operator fixes the cause, gives the job retries back and resolves the incident.
    failing = false
    await zeebe.updateJobRetries({ jobKey: String(incident.jobKey), retries: 1 })
    await zeebe.resolveIncident({ incidentKey: String(incident.key) })
    const result = await waiting
    assert.equal(String(result.processInstanceKey), String(instanceKey))
    assert.deepEqual(result.variables, { mode: 'fail', flaky: 'done' })
    // The same job was activated again, with the retries it was given back.
    assert.equal(activations.length, 2)
    assert.equal(String(activations[1].key), String(first.key))
    assert.equal(activations[1].retries, 1)
    assert.deepEqual(await cliJson(address, 'incidents', '--process-instance', String(instanceKey)), [])
  } finally {
    await worker.close()
  }
})

test('modify: a stuck task is skipped, with a variable for the next one', async ({ zeebe }) => {
  await zeebe.deployResource({ processFilename: join(fixtures, 'features.bpmn') })
  const created = await zeebe.createProcessInstance({ bpmnProcessId: 'e2e_modify', variables: {} })
  const jobs = await waitFor(async () => {
    const activated = await zeebe.activateJobs({ type: 'e2e-stuck', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated : null
  }, 'the stuck job')
  await zeebe.modifyProcessInstance({
    processInstanceKey: created.processInstanceKey,
    activateInstructions: [{ elementId: 'after_fix', ancestorElementInstanceKey: '-1', variableInstructions: [{ scopeId: '', variables: { fixed: true } }] }],
    terminateInstructions: [{ elementInstanceKey: jobs[0].elementInstanceKey }],
  })
  await assert.rejects(zeebe.completeJob({ jobKey: jobs[0].key, variables: {} }), (error) => /^5 NOT_FOUND:/.test(error.message))
  const next = await waitFor(async () => {
    const activated = await zeebe.activateJobs({ type: 'e2e-after-fix', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated : null
  }, 'the job after the fix')
  assert.equal(next[0].variables.fixed, true)
  await assert.rejects(
    zeebe.modifyProcessInstance({ processInstanceKey: created.processInstanceKey, activateInstructions: [{ elementId: 'nowhere', ancestorElementInstanceKey: '-1', variableInstructions: [] }] }),
    (error) => /^3 INVALID_ARGUMENT:.*nowhere/.test(error.message),
  )
})

test('start instructions: an instance starts at the named element', async ({ zeebe }) => {
  const created = await zeebe.createProcessInstance({
    bpmnProcessId: 'e2e_modify', variables: { via: 'start instruction' }, startInstructions: [{ elementId: 'after_fix' }],
  })
  const jobs = await waitFor(async () => {
    const activated = await zeebe.activateJobs({ type: 'e2e-after-fix', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated : null
  }, 'the job of the start element')
  assert.equal(String(jobs[0].processInstanceKey), String(created.processInstanceKey))
  assert.equal(jobs[0].variables.via, 'start instruction')
  await zeebe.completeJob({ jobKey: jobs[0].key, variables: {} })
})

test('delete resource: no new instances of a deleted process', async ({ zeebe }) => {
  const deployed = await zeebe.deployResource({ processFilename: join(fixtures, 'features.bpmn') })
  const target = deployed.deployments.find((d) => d.process.bpmnProcessId === 'e2e_delete_me').process
  await zeebe.deleteResource({ resourceKey: String(target.processDefinitionKey) })
  await assert.rejects(
    zeebe.createProcessInstance({ bpmnProcessId: 'e2e_delete_me', variables: {} }),
    (error) => /^5 NOT_FOUND:/.test(error.message),
  )
  await assert.rejects(zeebe.deleteResource({ resourceKey: String(target.processDefinitionKey) }), (error) => /^5 NOT_FOUND:/.test(error.message))
})

test('migrate: a running instance moves to the next version', async ({ zeebe }) => {
  const v1 = await zeebe.deployResource({ processFilename: join(fixtures, 'features.bpmn') })
  const source = v1.deployments.find((d) => d.process.bpmnProcessId === 'e2e_modify').process
  const created = await zeebe.createProcessInstance({ bpmnProcessId: 'e2e_modify', version: source.version, variables: {} })
  const v2 = await zeebe.deployResource({ processFilename: join(fixtures, 'modify_v2.bpmn') })
  const target = v2.deployments[0].process
  await assert.rejects(
    zeebe.migrateProcessInstance({
      processInstanceKey: created.processInstanceKey,
      migrationPlan: { targetProcessDefinitionKey: String(target.processDefinitionKey), mappingInstructions: [] },
    }),
    (error) => /^3 INVALID_ARGUMENT:.*stuck/.test(error.message),
  )
  await zeebe.migrateProcessInstance({
    processInstanceKey: created.processInstanceKey,
    migrationPlan: {
      targetProcessDefinitionKey: String(target.processDefinitionKey),
      mappingInstructions: [{ sourceElementId: 'stuck', targetElementId: 'unstuck' }],
    },
  })
  const jobs = await waitFor(async () => {
    const activated = await zeebe.activateJobs({ type: 'e2e-stuck', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated : null
  }, 'the migrated job')
  assert.equal(jobs[0].elementId, 'unstuck')
  assert.equal(String(jobs[0].processDefinitionKey), String(target.processDefinitionKey))
  await zeebe.completeJob({ jobKey: jobs[0].key, variables: {} })
  await waitFor(async () => {
    try {
      await zeebe.cancelProcessInstance(created.processInstanceKey)
      return null
    } catch (error) {
      return /^5 NOT_FOUND:/.test(error.message) ? true : null
    }
  }, 'the instance to complete on the new version')
})

run(tests, async ({ grpc }) => {
  const c8 = new Camunda8({
    ZEEBE_GRPC_ADDRESS: `grpc://${grpc}`,
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    zeebeGrpcSettings: { ZEEBE_CLIENT_LOG_LEVEL: 'NONE' },
  })
  return { zeebe: c8.getZeebeGrpcApiClient(), address: grpc }
}, ({ zeebe }) => zeebe.close())
