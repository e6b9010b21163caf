import { meterLargeFields } from '../../limits/graphql.js';
import { builder } from '../builder.js';
import './scalars.js';
import './enums.js';
import './run-event.js';
import './run.js';
import './conversation.js';
import './progress.js';
import './webhook-endpoint.js';
import './webhook-delivery.js';

// Large fields charge what they return to the operation's GRAPHQL_MAX_RESPONSE_BYTES budget.
export const schema = meterLargeFields(builder.toSchema({ sortSchema: true }));
