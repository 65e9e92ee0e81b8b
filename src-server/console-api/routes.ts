import type { ServerModule } from '../module'
import { Overview, overview } from './overview'

/** Read endpoints the console needs that belong to no single capability. */
export const consoleApiModule: ServerModule = {
  name: 'console-api',
  register(api, { reads }) {
    api.route({
      method: 'get',
      path: '/api/console/overview',
      summary: 'Dashboard figures: cardholders and cards by status, recent enrolment runs and SMS traffic',
      tags: ['console'],
      auth: { permission: 'dashboard.read' },
      responses: { 200: Overview },
      handler: () => overview(reads),
    })
  },
}
