import type { Component } from 'svelte'
import type { AreaId } from '../lib/areas'
import AuditPage from './AuditPage.svelte'
import CardholdersPage from './CardholdersPage.svelte'
import CryptoCalculatorPage from './CryptoCalculatorPage.svelte'
import DashboardPage from './DashboardPage.svelte'
import DevicesPage from './DevicesPage.svelte'
import DonglesPage from './DonglesPage.svelte'
import EnrolmentPage from './EnrolmentPage.svelte'
import FraudPage from './FraudPage.svelte'
import KeysPedsPage from './KeysPedsPage.svelte'
import LabPage from './LabPage.svelte'
import OperatorsPage from './OperatorsPage.svelte'
import ReportsPage from './ReportsPage.svelte'
import RulesPage from './RulesPage.svelte'
import SettingsPage from './SettingsPage.svelte'
import SmsModemsPage from './SmsModemsPage.svelte'
import TerminalsPage from './TerminalsPage.svelte'
import TransactionsPage from './TransactionsPage.svelte'
import TwofaPage from './TwofaPage.svelte'

/**
 * One page per area: adding an area means a line in lib/areas.ts and a line here. Pages take no props; what
 * they share (the session, the theme, the API client) lives in the rune modules under lib/.
 */
export const PAGES: Record<AreaId, Component> = {
  dashboard: DashboardPage,
  cardholders: CardholdersPage,
  enrolment: EnrolmentPage,
  devices: DevicesPage,
  transactions: TransactionsPage,
  reports: ReportsPage,
  fraud: FraudPage,
  sms: SmsModemsPage,
  dongles: DonglesPage,
  keys: KeysPedsPage,
  terminals: TerminalsPage,
  crypto: CryptoCalculatorPage,
  rules: RulesPage,
  operators: OperatorsPage,
  audit: AuditPage,
  lab: LabPage,
  twofa: TwofaPage,
  settings: SettingsPage,
}
