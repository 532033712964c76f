// What the Node suites share: the real `baton serve` on free ports, polling, and a runner that
// prints one line per test and a final `<N> passed, <M> failed`, exiting non-zero on failure.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const fixtures = join(here, 'fixtures')
export const baton = process.env.BATON_BIN ?? join(here, '..', 'target', 'debug', 'baton')

/** Starts `baton serve` on free ports; `ready` resolves with `{ grpc, http }` from its ready line. */
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
      const match = /^baton listening: grpc=(\S+) http=(\S+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve({ grpc: match[1], http: match[2] })
      }
    })
  })
  return { child, ready, log: () => log }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `predicate` until it returns a truthy value, or fails after `timeout` ms. */
export async function waitFor(predicate, what, timeout = 15_000) {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * Runs `tests` (`[{ name, fn }]`) in order against one fresh server: `connect({ grpc, http })`
 * builds the context each test gets (plus the addresses), `close(context)` releases it.
 */
export async function run(tests, connect, close = async () => {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-e2e-node-'))
  const server = startServer(join(dataDir, 'data'))
  let passed = 0
  let failed = 0
  let context
  try {
    const addresses = await server.ready
    context = { ...addresses, ...(await connect(addresses)) }
    for (const { name, fn } of tests) {
      try {
        await fn(context)
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
    if (context) await close(context).catch(() => {})
    server.child.kill('SIGTERM')
    await new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.on('exit', resolve)))
    if (failed) console.log(`--- server log ---\n${server.log().slice(-20000)}`)
    rmSync(dataDir, { recursive: true, force: true })
  }
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}
