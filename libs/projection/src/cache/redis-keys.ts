/** Every Redis key and channel the service uses, built in this one place. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  customer(id: string): string {
    return `${this.prefix}customer:${id}`;
  }

  /** Pub/sub: a rule set version was activated (published or rolled back). */
  get ruleSetChannel(): string {
    return `${this.prefix}rules:activated`;
  }

  /** Pub/sub: an API token was revoked, so that every instance forgets it and closes its subscriptions at once. */
  get tokenRevokedChannel(): string {
    return `${this.prefix}tokens:revoked`;
  }

  /** Pub/sub: canonical status changes, for GraphQL subscriptions on every API instance. */
  get statusChannel(): string {
    return `${this.prefix}status:changed`;
  }

  /** Hash: instance id → its last heartbeat (JSON), for the console's list of instances. */
  get instances(): string {
    return `${this.prefix}instances`;
  }
}
