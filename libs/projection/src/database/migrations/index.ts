import { InitialProjection1732400000000 } from './1732400000000-initial-projection';

/** Every migration, in order. Never `synchronize`. */
export const migrations = [InitialProjection1732400000000];
