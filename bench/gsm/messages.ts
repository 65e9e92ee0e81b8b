/** The message mix the GSM benches use: mostly OTPs, some notifications, some multipart and UCS-2. */
export function benchMessages(count: number): string[] {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const code = String(100000 + ((i * 7919) % 900000))
    switch (i % 4) {
      case 0:
        out.push(`Your code is ${code}. It expires in 5 minutes.`)
        break
      case 1:
        out.push(`Card *1234 used at SHOP {${i}} for 12.34 € on 2024-01-02. Not you? Reply STOP.`)
        break
      case 2:
        out.push(`Ваш код ${code} 😀`)
        break
      default:
        out.push(`Notice ${code}: `.padEnd(200, 'x'))
    }
  }
  return out
}
