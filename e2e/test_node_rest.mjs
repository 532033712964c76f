// End-to-end tests: the real `baton serve` binary driven by the Camunda 8 JavaScript SDK's REST
// client (`CamundaRestClient`), which speaks Camunda's Orchestration Cluster API (`/v2`) on the
// HTTP port. Run through `e2e/run.sh`, or directly with
// `BATON_BIN=target/debug/baton node e2e/test_node_rest.mjs` after `npm install` in e2e/.
// Prints one line per test and a final `<N> passed, <M> failed`; exits non-zero on failure.

import { join } from 'node:path'
import assert from 'node:assert/strict'

import { Camunda8 } from '@camunda8/sdk'

import { fixtures, run, waitFor } from './harness.mjs'

/** The instance as Baton's own REST API shows it, finished ones included. */
async function instance(http, key) {
  const response = await fetch(`http://${http}/v1/process-instances/${key}`)
  assert.equal(response.status, 200, await response.clone().text())
  return response.json()
}

/** Runs `fn`, expecting the SDK to reject with an HTTP error whose message names `status`. */
async function rejectsWith(fn, status) {
  await assert.rejects(fn, (error) => {
    assert.match(String(error?.message ?? error), new RegExp(`\\b${status}\\b`))
    return true
  })
}

const tests = []
const test = (name, fn) => tests.push({ name, fn })

test('topology', async ({ rest, grpc }) => {
  const topology = await rest.getTopology()
  assert.equal(topology.clusterSize, 1)
  assert.equal(topology.partitionsCount, 2)
  assert.match(topology.gatewayVersion, /^8\./)
  assert.equal(`${topology.brokers[0].host}:${topology.brokers[0].port}`, grpc)
})

test('deploy from files (multipart): processes, decisions and forms', async ({ rest }) => {
  const response = await rest.deployResourcesFromFiles([
    join(fixtures, 'order.bpmn'), join(fixtures, 'events.bpmn'), join(fixtures, 'discount.dmn'),
  ])
  assert.match(response.deploymentKey, /^\d+$/)
  assert.deepEqual(response.processes.map((p) => p.processDefinitionId).sort(), ['e2e_error', 'e2e_message', 'e2e_order'])
  assert.match(response.processes[0].processDefinitionKey, /^\d+$/)
  assert.equal(response.decisions[0].decisionDefinitionId, 'e2e_discount')
  assert.equal(response.decisionRequirements[0].resourceName, 'discount.dmn')
})

test('an invalid model is refused with 400 and the element named', async ({ rest }) => {
  await assert.rejects(rest.deployResourcesFromFiles([join(fixtures, 'invalid.bpmn')]), (error) => {
    assert.match(String(error.message), /\b400\b/)
    assert.equal(error.title, 'INVALID_ARGUMENT')
    assert.match(error.detail, /Task_NoType/)
    return true
  })
})

test('unknown process is 404', async ({ rest }) => {
  await rejectsWith(() => rest.createProcessInstance({ processDefinitionId: 'no-such-process', variables: {} }), 404)
})

test('a polling worker completes three tasks; the awaited result has the variables', async ({ rest }) => {
  const seen = []
  const workers = ['e2e-reserve', 'e2e-charge', 'e2e-ship'].map((type) => rest.createJobWorker({
    type,
    worker: `e2e-${type}`,
    maxJobsToActivate: 8,
    timeout: 60_000,
    pollIntervalMs: 100,
    jobHandler: (job) => {
      seen.push(type)
      return job.complete({ [type.replace('e2e-', '')]: 'done' })
    },
  }))
  try {
    const result = await rest.createProcessInstanceWithResult({
      processDefinitionId: 'e2e_order',
      variables: { orderId: 'o-1' },
      requestTimeout: 30_000,
    })
    assert.match(result.processInstanceKey, /^\d+$/)
    assert.equal(result.variables.orderId, 'o-1')
    assert.equal(result.variables.ship, 'done')
    assert.deepEqual(seen, ['e2e-reserve', 'e2e-charge', 'e2e-ship'])
  } finally {
    for (const worker of workers) await worker.stop()
  }
})

test('cancel, then cancelling again is 404', async ({ rest, http }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_message', variables: { orderId: 'c-1' } })
  await rest.cancelProcessInstance({ processInstanceKey: created.processInstanceKey })
  assert.equal((await instance(http, created.processInstanceKey)).state, 'TERMINATED')
  await rejectsWith(() => rest.cancelProcessInstance({ processInstanceKey: created.processInstanceKey }), 404)
})

test('variables set on the instance, then a published message completes it', async ({ rest, http }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_message', variables: { orderId: 'm-1' } })
  const key = created.processInstanceKey
  await rest.updateElementInstanceVariables({ elementInstanceKey: key, variables: { note: 'rush' } })
  const before = await instance(http, key)
  assert.ok(before.variables.some((v) => v.name === 'note' && v.value === 'rush'), JSON.stringify(before.variables))
  const published = await rest.publishMessage({
    name: 'payment-received', correlationKey: 'm-1', variables: { paid: true }, timeToLive: 60_000,
  })
  assert.match(published.messageKey, /^\d+$/)
  assert.equal(published.tenantId, '<default>')
  await waitFor(async () => (await instance(http, key)).state === 'COMPLETED', 'the message to complete the instance')
})

test('a business error from the worker is caught by the boundary event', async ({ rest, http }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_error', variables: {} })
  const jobs = await waitFor(async () => {
    const activated = await rest.activateJobs({ type: 'e2e-risky', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated : null
  }, 'the risky job')
  await rest.errorJob({ jobKey: jobs[0].jobKey, errorCode: 'DECLINED', errorMessage: 'card declined' })
  // Only the error path can end the instance: its job was never completed.
  await waitFor(async () => (await instance(http, created.processInstanceKey)).state === 'COMPLETED', 'the error path')
})

test('a failed job raises an incident; new retries and a resolution let it complete', async ({ rest, http }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_error', variables: {} })
  const key = created.processInstanceKey
  const activate = async () => waitFor(async () => {
    const activated = await rest.activateJobs({ type: 'e2e-risky', worker: 'e2e', maxJobsToActivate: 1, timeout: 60_000, requestTimeout: 1_000 })
    return activated.length ? activated[0] : null
  }, 'the risky job')
  const job = await activate()
  await rest.failJob({ jobKey: job.jobKey, retries: 0, errorMessage: 'gateway down' })
  const stuck = await waitFor(async () => {
    const seen = await instance(http, key)
    return seen.incidents.length ? seen : null
  }, 'the incident')
  assert.equal(stuck.incidents[0].errorMessage, 'gateway down')
  await rest.updateJob({ jobKey: job.jobKey, retries: 1 })
  await rest.resolveIncident(stuck.incidents[0].incidentKey)
  const again = await activate()
  assert.equal(again.jobKey, job.jobKey)
  await rest.completeJob({ jobKey: again.jobKey, variables: { outcome: 'charged' } })
  await waitFor(async () => (await instance(http, key)).state === 'COMPLETED', 'the instance to complete')
})

test('signal broadcast and decision evaluation', async ({ rest }) => {
  const signal = await rest.broadcastSignal({ signalName: 'e2e-nobody-listens', variables: {} })
  assert.match(signal.signalKey, /^\d+$/)
  const evaluated = await rest.evaluateDecision({ decisionDefinitionId: 'e2e_discount', variables: { total: 250 } })
  assert.equal(JSON.parse(evaluated.output), 10)
  assert.equal(evaluated.evaluatedDecisions[0].matchedRules[0].ruleId, 'Rule_big')
})

test('delete resource: no new instances of a deleted process', async ({ rest }) => {
  const deployed = await rest.deployResourcesFromFiles([join(fixtures, 'single_task.bpmn')])
  const process = deployed.processes[0]
  await rest.deleteResource({ resourceKey: process.processDefinitionKey })
  await rejectsWith(() => rest.createProcessInstance({ processDefinitionKey: process.processDefinitionKey, variables: {} }), 404)
})

test('searches: instances, variables, element instances, incidents and definitions', async ({ rest }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_message', variables: { orderId: 's-1', amount: 7 } })
  const key = created.processInstanceKey
  const found = await rest.searchProcessInstances({ filter: { processInstanceKey: key }, sort: [{ field: 'processInstanceKey', order: 'ASC' }] })
  assert.equal(found.page.totalItems, 1)
  assert.equal(found.items[0].state, 'ACTIVE')
  assert.equal(found.items[0].processDefinitionId, 'e2e_message')
  assert.match(found.items[0].startDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const variables = await rest.searchVariables({ filter: { processInstanceKey: key, name: 'amount' } })
  assert.equal(variables.items.length, 1)
  assert.equal(variables.items[0].value, '7')
  const variable = await rest.getVariable({ variableKey: variables.items[0].variableKey })
  assert.equal(variable.value, 7)

  const elements = await rest.searchElementInstances({ filter: { processInstanceKey: key, type: 'INTERMEDIATE_CATCH_EVENT' } })
  assert.equal(elements.items[0].elementId, 'wait_payment')
  assert.equal(elements.items[0].elementName, 'Payment received')
  const element = await rest.getElementInstance(elements.items[0].elementInstanceKey)
  assert.equal(element.state, 'ACTIVE')

  const definitions = await rest.searchProcessDefinitions({ filter: { processDefinitionId: 'e2e_message' } })
  assert.equal(definitions.items.length, 1)
  const xml = await rest.getProcessDefinitionXML(definitions.items[0].processDefinitionKey)
  assert.match(xml, /wait_payment/)

  await rest.cancelProcessInstance({ processInstanceKey: key })
  const cancelled = await rest.searchProcessInstances({ filter: { processInstanceKey: key, state: 'TERMINATED' } })
  assert.equal(cancelled.items.length, 1)
  assert.match(cancelled.items[0].endDate, /Z$/)

  const incidents = await rest.searchIncidents({ filter: { errorType: 'JOB_NO_RETRIES' } })
  assert.ok(Array.isArray(incidents.items))
})

test('a user task is found by its instance and completed with variables', async ({ rest, http }) => {
  await rest.deployResourcesFromFiles([join(fixtures, 'approval.bpmn')])
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_approval', variables: { amount: 99 } })
  const tasks = await rest.searchUserTasks({ filter: { processInstanceKey: created.processInstanceKey } })
  assert.equal(tasks.items.length, 1)
  const task = tasks.items[0]
  assert.equal(task.name, 'Approve order')
  assert.equal(task.assignee, 'demo')
  assert.deepEqual(task.candidateGroups, ['sales'])
  await rest.completeUserTask({ userTaskKey: task.userTaskKey, variables: { approved: true } })
  await waitFor(async () => (await instance(http, created.processInstanceKey)).state === 'COMPLETED', 'the approval to complete')
})

test('a correlated message names the instance it reached; with nobody waiting it is 404', async ({ rest, http }) => {
  const created = await rest.createProcessInstance({ processDefinitionId: 'e2e_message', variables: { orderId: 'k-1' } })
  const correlated = await rest.correlateMessage({ name: 'payment-received', correlationKey: 'k-1', variables: { paid: true } })
  assert.equal(correlated.processInstanceKey, created.processInstanceKey)
  await waitFor(async () => (await instance(http, created.processInstanceKey)).state === 'COMPLETED', 'the correlation')
  await rejectsWith(() => rest.correlateMessage({ name: 'payment-received', correlationKey: 'nobody', variables: {} }), 404)
})

run(tests, async ({ grpc, http }) => {
  const c8 = new Camunda8({
    ZEEBE_REST_ADDRESS: `http://${http}`,
    ZEEBE_GRPC_ADDRESS: `grpc://${grpc}`,
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    CAMUNDA_LOG_LEVEL: 'none',
  })
  return { rest: c8.getCamundaRestClient() }
})
