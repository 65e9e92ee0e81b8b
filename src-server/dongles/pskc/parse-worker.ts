import { isMainThread, parentPort } from 'node:worker_threads'
import { readPart, type PartTask } from './part'

/**
 * The parse worker's entry (./parallel.ts starts it): reads each part it is sent and answers with the outcome,
 * in the order the parts came. Guarded so that loading the module on a main thread does nothing.
 */
if (!isMainThread && parentPort) {
  const port = parentPort
  port.on('message', (task: PartTask) => {
    const { outcome, transfer } = readPart(task)
    port.postMessage(outcome, transfer)
  })
}
