import { OperatorError, redactUrl } from '@app/config';

/** A service the app needs is missing or unreachable at start: printed as one line, no stack trace. */
export class StartupError extends OperatorError {
  readonly code = 'STARTUP';
}

const START_COMMANDS: Record<string, string> = {
  PostgreSQL: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  Redis: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  RabbitMQ: 'rabbitmq-server -detached',
};

export function unreachable(service: 'PostgreSQL' | 'Redis' | 'RabbitMQ', url: string, e: unknown): StartupError {
  const safe = redactUrl(url);
  const err = e as { code?: string; message?: string };
  const why = [err.code, err.message].filter(Boolean).join(': ') || String(e);
  return new StartupError(`${service} at ${safe} is unreachable (${why}); start it with: ${START_COMMANDS[service]}`);
}

