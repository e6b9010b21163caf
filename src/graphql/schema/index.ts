import { builder } from '../builder.js';
import './scalars.js';
import './enums.js';
import './run-event.js';
import './run.js';

export const schema = builder.toSchema({ sortSchema: true });
