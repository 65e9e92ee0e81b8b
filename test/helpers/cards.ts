/** Test card numbers with a valid Luhn digit. */
export function luhnComplete(partial: string): string {
  let sum = 0
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return partial + String((10 - (sum % 10)) % 10)
}

/** The n-th test PAN under a prefix (16 digits). */
export function testPan(prefix: string, n: number): string {
  return luhnComplete(prefix + String(n).padStart(15 - prefix.length, '0'))
}

export function enrolmentCsv(rows: string[][]): string {
  return ['pan,expiry,name,mobile,email,language,method', ...rows.map((r) => r.join(','))].join('\n') + '\n'
}
