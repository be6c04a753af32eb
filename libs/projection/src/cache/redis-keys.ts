/** Every Redis key and channel the service uses, built in this one place. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  customer(id: string): string {
    return `${this.prefix}customer:${id}`;
  }
}
