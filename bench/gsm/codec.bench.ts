/**
 * SMS-SUBMIT encoding rate of our codec against python3-gammu (EncodeSMS + EncodePDU) on the same
 * messages: the target is ≥ 100,000 PDUs/s.
 */
import { execFileSync } from 'node:child_process'
import { chooseEncoding, encodeOutgoingSms } from '../../hardware/gsm/pdu'
import { benchMessages } from './messages'

const GAMMU_RATE = `
import gammu, json, sys, time
texts = json.load(sys.stdin)
def encode_all():
    n = 0
    for t, unicode in texts:
        parts = gammu.EncodeSMS({'Class': -1, 'Unicode': unicode,
                                 'Entries': [{'ID': 'ConcatenatedTextLong', 'Buffer': t}]})
        for p in parts:
            p.update(SMSC={'Location': 0, 'Number': '+491700000000'}, Number='+491234567890')
            gammu.EncodePDU(p, 'Submit')
            n += 1
    return n
encode_all()
start = time.perf_counter(); pdus = 0
while time.perf_counter() - start < 2:
    pdus += encode_all()
print(pdus / (time.perf_counter() - start))
`

export default {
  name: 'gsm codec: SMS-SUBMIT PDUs encoded per second (baseline: python3-gammu)',
  async run() {
    const texts = benchMessages(1000)
    const encodeAll = () => {
      let n = 0
      for (let i = 0; i < texts.length; i++) {
        n += encodeOutgoingSms(
          { to: '+491234567890', text: texts[i], smsc: '+491700000000' },
          { concatReference: i & 0xff },
        ).length
      }
      return n
    }
    encodeAll() // warm-up
    let pdus = 0
    const start = performance.now()
    while (performance.now() - start < 2000) pdus += encodeAll()
    const value = pdus / ((performance.now() - start) / 1000)
    let baseline = NaN
    let note = 'mix: GSM-7 OTPs, GSM-7 with € and {}, UCS-2 with emoji, 2-part notices'
    try {
      baseline = Number(
        execFileSync('/usr/bin/python3', ['-c', GAMMU_RATE], {
          // Our alphabet choice is passed along so both sides encode the same PDUs.
          input: JSON.stringify(texts.map((t) => [t, chooseEncoding(t) === 'ucs2'])),
          encoding: 'utf8',
        }).trim(),
      )
    } catch (err) {
      note += `; python3-gammu baseline unavailable: ${(err as Error).message.split('\n')[0]}`
    }
    return { value, baseline, unit: 'PDUs/s', note }
  },
}
