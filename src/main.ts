import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { mallocAdvice, runsOnGlibc } from './common/malloc-tuning';
import { AppConfig } from './config/app-config';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const config = app.get(AppConfig);
  await app.listen(config.PORT, config.HOST);
  const { port } = app.getHttpServer().address() as { port: number };
  const url = `${config.MMS_TLS_CERT ? 'https' : 'http'}://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  new Logger('Bootstrap').log(`listening on ${url} (API docs at ${url}/docs)`);
  const advice = mallocAdvice(process.env, runsOnGlibc());
  if (advice) new Logger('Memory').warn(advice);
  exitAfterShutdownTimeout(config.MMS_SHUTDOWN_TIMEOUT_MS);
}

/**
 * Nest closes the application on SIGTERM and SIGINT, answering the requests in flight first;
 * a call running in onnxruntime cannot be interrupted, so a huge one would hold the exit back
 * for minutes. After the timeout the process exits anyway (an orchestrator would kill it).
 */
function exitAfterShutdownTimeout(timeoutMs: number): void {
  if (!timeoutMs) return;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        new Logger('Shutdown').error(`shutdown did not finish within ${timeoutMs} ms (MMS_SHUTDOWN_TIMEOUT_MS); exiting with what is still in flight`);
        process.exit(1);
      }, timeoutMs).unref();
    });
  }
}

bootstrap().catch((error: NodeJS.ErrnoException & { address?: string; port?: number }) => {
  // Bad configuration, a locked data directory and a busy port are the user's to fix: say so without a stack.
  const message =
    error.code === 'EADDRINUSE' && error.port !== undefined
      ? `port ${error.port} on ${error.address} is in use by another process: stop it, or set PORT to a free port (PORT=0 picks one)`
      : error.message;
  console.error(`\nCannot start: ${message}\n`);
  process.exit(1);
});
