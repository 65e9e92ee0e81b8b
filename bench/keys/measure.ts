/** Operations per second of `op`, run in batches until `ms` milliseconds have passed (after a short warm-up). */
export function opsPerSecond(op: (i: number) => void, ms = 1500): number {
  for (let i = 0; i < 2000; i++) op(i)
  let count = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    for (let j = 0; j < 500; j++) op(count++)
    elapsed = performance.now() - start
  }
  return (count * 1000) / elapsed
}
