/**
 * What a function may use besides its own log group. Routes (functions/routes.ts) and background
 * functions (functions/background.ts) declare their needs; the CDK stack gives each function the
 * settings, network and IAM grant of exactly the needs it declares (lib/api-stack.ts), and nothing
 * else — so a need that is not declared is missing in AWS, not just locally.
 */
export const NEEDS = {
  /** The application's database login through RDS Proxy: the VPC, `rds-db:connect` as the app user. */
  database: 'the database as the application user',
  /** The admin login, for migrations: the VPC, `rds-db:connect` as the admin user. */
  databaseAdmin: 'the database as the admin user',
  /** Read the application login's secret (the migration sets the role's password from it). */
  appSecret: 'read the application login secret',
  /** `sqs:SendMessage` to the payment-event queue. */
  paymentQueue: 'send to the payment-event queue',
  /** `events:PutEvents` on the domain event bus. */
  eventBus: 'put events on the domain event bus',
  /** The PG webhook signing secret. */
  webhookSecret: 'the PG webhook signing secret',
  /**
   * The gateways' settings that are not secret, per environment: API bases, Toss client key,
   * PortOne store and channel (checkout data needs the last three; calls need the bases).
   */
  gatewaySettings: "the payment gateways' public settings",
  /** The gateways' keys (Toss secret key, PortOne API and webhook secrets), one Secrets Manager secret. */
  gatewaySecrets: 'read the payment gateway secrets',
  /** The waiting room's signing key (queue and admission tokens), one Secrets Manager secret. */
  waitingRoomSecret: "the waiting room's token signing key",
  /** HTTPS out of the VPC to the payment gateways' APIs (NAT, port 443 only). */
  internet: 'HTTPS to the payment gateways',
} as const;

export type Need = keyof typeof NEEDS;
