// Imported first by local/server.ts: defaults that must be in place before any module reads them.
// CloudWatch embedded metrics are noise on a terminal; the local pool serves many requests at once.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.DB_POOL_MAX ??= '10';
