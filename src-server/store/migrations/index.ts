/**
 * Every schema change, as numbered migrations. Ids sort lexically; each capability owns a range so work on
 * different capabilities never collides: 0001–0099 foundation, 0100 acs, 0200 auth methods, 0300 sms,
 * 0400 dongles, 0500 keys, 0600 terminals, 0700 mobile authenticator, 0800 console/reports.
 * A released migration is never edited: add a new one.
 */
import foundation from './0001-foundation'
import issuersEnrolment from './0100-issuers-enrolment'
import acs from './0110-acs'
import acsTrustList from './0120-acs-trust-list'
import acsTls from './0130-acs-tls'
import acsDsCertificate from './0140-acs-ds-certificate'
import acsInformational from './0150-acs-informational'
import authMethods from './0200-auth-methods'
import fraud from './0210-fraud'
import sms from './0300-sms'
import modems from './0310-modems'
import smsQueueIndexes from './0320-sms-queue-indexes'
import smsPartReports from './0330-sms-part-reports'
import smsInboxMissingParts from './0340-sms-inbox-missing-parts'
import smsOutboxExpiry from './0350-sms-outbox-expiry'
import modemsPinRejected from './0360-modems-pin-rejected'
import dongles from './0400-dongles'
import keys from './0500-keys'
import peds from './0510-peds'
import pedsUniqueness from './0520-peds-uniqueness'
import pedsCrl from './0530-peds-crl'
import terminals from './0600-terminals'
import mobile from './0700-mobile'
import mobileSubjectsQrKeys from './0710-mobile-subjects-qr-keys'
import mobileSeenRequests from './0720-mobile-seen-requests'
import dashboardStats from './0800-dashboard-stats'
import twofa from './0900-twofa'
import channels from './0910-channels'

export interface Migration {
  id: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  foundation,
  issuersEnrolment,
  acs,
  acsTrustList,
  acsTls,
  acsDsCertificate,
  acsInformational,
  authMethods,
  fraud,
  sms,
  modems,
  smsQueueIndexes,
  smsPartReports,
  smsInboxMissingParts,
  smsOutboxExpiry,
  modemsPinRejected,
  dongles,
  keys,
  peds,
  pedsUniqueness,
  pedsCrl,
  terminals,
  mobile,
  mobileSubjectsQrKeys,
  mobileSeenRequests,
  dashboardStats,
  twofa,
  channels,
]
