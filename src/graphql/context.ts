import type { Principal } from '../auth/principal.js';
import type { Subscriptions } from '../live/subscriptions.js';
import type { Logger } from '../logger.js';
import type { NotificationService } from '../notifications/service.js';
import type { RunService } from '../runs/service.js';
import type { Run } from '../runs/store/index.js';
import type { Db } from '../storage/database.js';

export interface Services {
  runs: RunService;
  live: Subscriptions;
  notifications: NotificationService;
}

/** What every resolver gets: storage for Pothos' Prisma plugin, the services, and the caller. */
export interface GraphQLContext {
  prisma: Db;
  services: Services;
  principal: Principal;
  log: Logger;
  /** Runs by id, batched per operation (see run-loader.ts). */
  loadRun: (id: string) => Promise<Run>;
}
