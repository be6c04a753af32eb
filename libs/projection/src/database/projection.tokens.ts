/** The TypeORM DataSource of the statusview database. */
export const PROJECTION_DATA_SOURCE = Symbol('PROJECTION_DATA_SOURCE');
