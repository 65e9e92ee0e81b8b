"""python3-gammu as an independent SMS PDU oracle for the codec tests (run with Debian's /usr/bin/python3).

Reads one JSON request on stdin, writes one JSON answer on stdout:
  {"op": "decode", "pdus": [hex, ...]}                 -> each PDU's fields plus the linked text
  {"op": "encode_deliver", "text", "number", "unicode", "smsc", "datetime"} -> DELIVER PDUs (hex)
  {"op": "encode_submit", "text", "number", "unicode", "smsc", "report"}    -> SUBMIT PDUs (hex)
"""
import binascii
import datetime
import json
import sys

import gammu


def fields(msg):
    text = msg.get('Text') or ''
    # With GSM-7 escapes gammu's Text may continue past a NUL with garbage (septets counted as chars).
    text = text.split('\x00', 1)[0]
    udh = msg.get('UDH') or {}
    out = {
        'type': msg.get('Type'),
        'number': msg.get('Number'),
        'smsc': (msg.get('SMSC') or {}).get('Number'),
        'coding': msg.get('Coding'),
        'text': text,
        'udh_type': udh.get('Type'),
        'udh_id8': udh.get('ID8bit'),
        'udh_id16': udh.get('ID16bit'),
        'part': udh.get('PartNumber'),
        'parts': udh.get('AllParts'),
        'reference': msg.get('MessageReference'),
        'delivery_status': msg.get('DeliveryStatus'),
    }
    for key in ('DateTime', 'SMSCDateTime'):
        if isinstance(msg.get(key), datetime.datetime):
            out[key] = msg[key].isoformat()
    return out


def encode(req, kind):
    parts = gammu.EncodeSMS({
        'Class': -1,
        'Unicode': bool(req.get('unicode')),
        'Entries': [{'ID': 'ConcatenatedTextLong', 'Buffer': req['text']}],
    })
    pdus = []
    for p in parts:
        p.update(SMSC={'Location': 0, 'Number': req.get('smsc', '+491700000000')}, Number=req['number'])
        if kind == 'Deliver':
            p.update(Type='Deliver', DateTime=datetime.datetime.fromisoformat(req['datetime']))
        else:
            p.update(Type='Submit')
            if req.get('report'):
                p['DeliveryReport'] = 'Yes'
        pdus.append(binascii.hexlify(gammu.EncodePDU(p, kind)).decode().upper())
    return pdus


def main():
    req = json.load(sys.stdin)
    if req['op'] == 'decode':
        msgs = [gammu.DecodePDU(binascii.unhexlify(h), True) for h in req['pdus']]
        linked = gammu.LinkSMS([[m] for m in msgs])
        texts = []
        for group in linked:
            decoded = gammu.DecodeSMS(group)
            if decoded is None:
                texts.append(''.join((m.get('Text') or '').split('\x00', 1)[0] for m in group))
            else:
                texts.append(''.join(e.get('Buffer') or '' for e in decoded['Entries']))
        json.dump({'messages': [fields(m) for m in msgs], 'linked': texts}, sys.stdout)
    elif req['op'] == 'encode_deliver':
        json.dump({'pdus': encode(req, 'Deliver')}, sys.stdout)
    elif req['op'] == 'encode_submit':
        json.dump({'pdus': encode(req, 'Submit')}, sys.stdout)
    else:
        raise SystemExit('unknown op')


main()
