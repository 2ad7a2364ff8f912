// Imported first by local/server.ts: defaults that must be in place before any module reads them.
// CloudWatch embedded metrics are noise on a terminal; the local pool serves many requests at once.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.DB_POOL_MAX ??= '10';

// The payment gateways' APIs default to the local simulator (local/pg-simulator/), which
// local/server.ts starts on PG_SIMULATOR_PORT; set TOSS_API_BASE etc. to reach real test-mode APIs.
process.env.PG_SIMULATOR_PORT ??= '3100';
const simulator = `http://127.0.0.1:${process.env.PG_SIMULATOR_PORT}`;
process.env.TOSS_API_BASE ??= `${simulator}/toss`;
// PortOne's SDK resolves its paths against the origin only, so its base has no path
process.env.PORTONE_API_BASE ??= simulator;
process.env.BUILTIN_PG_API_BASE ??= `${simulator}/builtin`;
