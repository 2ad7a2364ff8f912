// The Node.js Lambda runtime's part, for one invocation in a fresh process: load the handler that
// _HANDLER names from LAMBDA_TASK_ROOT, call it with the event on stdin, report the result (or
// the error) on file descriptor 3, and exit, as a frozen Lambda container would stop.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const report = (value) => {
  writeSync(3, JSON.stringify(value));
  process.exit(0);
};
process.on('uncaughtException', (error) => report({ crash: String(error?.stack ?? error) }));
process.on('unhandledRejection', (error) => report({ crash: String(error?.stack ?? error) }));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const event = JSON.parse(Buffer.concat(chunks).toString());
const [file, name] = process.env._HANDLER.split('.');
const deadline = Date.now() + Number(process.env.REHEARSAL_TIMEOUT_MS);
const context = {
  awsRequestId: crypto.randomUUID(),
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: 'rehearsal',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
const module = await import(pathToFileURL(join(process.env.LAMBDA_TASK_ROOT, `${file}.mjs`)).href);
if (typeof module[name] !== 'function') report({ crash: `${file}.mjs does not export a function ${name}` });
try {
  report({ result: (await module[name](event, context)) ?? null });
} catch (error) {
  // a whole batch that failed (Powertools' FullBatchFailureError) says why only in its records' errors
  const causes = (error?.recordErrors ?? []).map((e) => `\n  ${e?.name}: ${e?.message}`).join('');
  report({ error: { name: error?.name, message: `${error?.message}${causes}`, stack: error?.stack } });
}
