// End-to-end tests: the real `baton serve` binary driven by the Camunda 8 JavaScript SDK's
// Zeebe gRPC client. Run through `E2E_NODE=1 e2e/run.sh`, or directly with
// `BATON_BIN=target/debug/baton node e2e/test_node.mjs` after `npm install` in e2e/.
// Prints one line per test and a final `<N> passed, <M> failed`; exits non-zero on failure.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'

import { Camunda8 } from '@camunda8/sdk'

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = join(here, 'fixtures')
const baton = process.env.BATON_BIN ?? join(here, '..', 'target', 'debug', 'baton')

/** Starts `baton serve` on free ports and resolves with the gRPC address from the ready line. */
function startServer(dataDir) {
  const child = spawn(baton, [
    'serve', '--data-dir', dataDir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--partitions', '2',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stderr.on('data', (chunk) => { log += chunk })
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baton serve was not ready within 60s')), 60_000)
    child.on('exit', (code) => reject(new Error(`baton serve exited with ${code}\n${log}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^baton listening: grpc=(\S+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
  })
  return { child, ready, log: () => log }
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

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-e2e-node-'))
  const server = startServer(join(dataDir, 'data'))
  let passed = 0
  let failed = 0
  let zeebe
  try {
    const address = await server.ready
    const c8 = new Camunda8({
      ZEEBE_GRPC_ADDRESS: `grpc://${address}`,
      CAMUNDA_AUTH_STRATEGY: 'NONE',
      zeebeGrpcSettings: { ZEEBE_CLIENT_LOG_LEVEL: 'NONE' },
    })
    zeebe = c8.getZeebeGrpcApiClient()
    for (const { name, fn } of tests) {
      try {
        await fn({ zeebe })
        passed += 1
        console.log(`PASS ${name}`)
      } catch (error) {
        failed += 1
        console.log(`FAIL ${name}: ${error?.stack ?? error}`)
      }
    }
  } catch (error) {
    failed += 1
    console.log(`FAIL server: ${error?.message ?? error}`)
  } finally {
    if (zeebe) await zeebe.close().catch(() => {})
    server.child.kill('SIGTERM')
    await new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.on('exit', resolve)))
    if (failed) console.log(`--- server log ---\n${server.log().slice(-20000)}`)
    rmSync(dataDir, { recursive: true, force: true })
  }
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

main()
