import type { ServerModule } from '../module'
import { registerRiskRoutes } from '../risk/routes'
import { registerAcsConsole } from './routes/console'
import { acsEndpoints } from './routes/endpoints'
import { registerTrustListRoutes } from './routes/trust-list'

/** The ACS: the /acs/v2 endpoints (own router, own errors) and its console API; timers and RReq outbox run while started. */
export const acsModule: ServerModule = {
  name: 'acs',
  register(api, services, app) {
    app.use(acsEndpoints(services.acs, services.log))
    registerAcsConsole(api, services)
    registerRiskRoutes(api, services)
    registerTrustListRoutes(api, services)
  },
  start({ acs }) {
    acs.start()
  },
}
