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
}

bootstrap().catch((error: Error) => {
  // Bad configuration and a locked data directory are the user's to fix: say so without a stack.
  console.error(`\nCannot start: ${error.message}\n`);
  process.exit(1);
});
