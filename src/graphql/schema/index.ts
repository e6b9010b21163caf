import { builder } from '../builder.js';
import './scalars.js';
import './enums.js';
import './run-event.js';
import './run.js';
import './progress.js';

export const schema = builder.toSchema({ sortSchema: true });
