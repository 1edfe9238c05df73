import { InitialRegistry1764000000000 } from './1764000000000-initial-registry';

/** Every migration, in order. Listed explicitly so that ts and compiled js runs agree. */
export const MIGRATIONS = [InitialRegistry1764000000000];
