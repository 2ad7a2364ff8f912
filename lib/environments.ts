import { Duration, RemovalPolicy } from 'aws-cdk-lib';

/** Every per-environment setting of the deployment, in one typed place. */
export interface EnvironmentConfig {
  name: 'dev' | 'prod';
  /** Aurora Serverless v2 capacity in ACUs. */
  minCapacity: number;
  maxCapacity: number;
  /** Readers beside the writer (prod keeps one for fail-over). */
  readers: number;
  backupRetention: Duration;
  deletionProtection: boolean;
  /** What happens to stateful resources when the stack is deleted. */
  removalPolicy: RemovalPolicy;
  logRetentionDays: 7 | 30 | 90 | 365;
  /** JWT authorizer: your identity provider (e.g. a Cognito user pool) and the API's audience. */
  jwtIssuer: string;
  jwtAudience: string[];
  /** Stage-wide API throttling. */
  throttle: { rateLimit: number; burstLimit: number };
  /** Alarm notifications; unset = alarms without a subscriber (dev only). */
  alarmEmail?: string;
  /**
   * Settings that have no safe default here and must be given at deploy time with `-c key=value`:
   * synth fails without them (a made-up issuer would answer 401 to every secured route).
   */
  requiredContext: ('jwtIssuer' | 'jwtAudience' | 'alarmEmail')[];
  /** Same names as the local configuration (API.md). */
  booking: {
    HOLD_TTL_SECONDS: number;
    PAYMENT_TTL_SECONDS: number;
    MAX_SEATS_PER_ORDER: number;
    MAX_SEATS_PER_USER: number;
  };
}

const booking = {
  HOLD_TTL_SECONDS: 300,
  PAYMENT_TTL_SECONDS: 600,
  MAX_SEATS_PER_ORDER: 8,
  MAX_SEATS_PER_USER: 8,
};

export const environments: Record<EnvironmentConfig['name'], EnvironmentConfig> = {
  dev: {
    name: 'dev',
    minCapacity: 0.5,
    maxCapacity: 4,
    readers: 0,
    backupRetention: Duration.days(1),
    deletionProtection: false,
    removalPolicy: RemovalPolicy.DESTROY,
    logRetentionDays: 7,
    jwtIssuer: 'https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_DEVPOOL',
    jwtAudience: ['ticketing-dev'],
    throttle: { rateLimit: 200, burstLimit: 400 },
    requiredContext: [],
    booking,
  },
  prod: {
    name: 'prod',
    minCapacity: 2,
    maxCapacity: 64,
    readers: 1,
    backupRetention: Duration.days(35),
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    logRetentionDays: 90,
    // no placeholders: the real values come with the deploy (requiredContext)
    jwtIssuer: '',
    jwtAudience: [],
    throttle: { rateLimit: 5000, burstLimit: 10000 },
    requiredContext: ['jwtIssuer', 'jwtAudience', 'alarmEmail'],
    booking,
  },
};

/**
 * `cdk synth -c env=dev`; issuer, audience and alarm e-mail come per deploy with
 * `-c jwtIssuer=https://... -c jwtAudience=a,b -c alarmEmail=...` (prod requires all three).
 */
export function environmentFrom(context: (key: string) => unknown): EnvironmentConfig {
  const name = String(context('env') ?? 'dev');
  if (name !== 'dev' && name !== 'prod')
    throw new Error(`Unknown environment "${name}": use -c env=dev or -c env=prod`);
  const base = environments[name];
  const missing = base.requiredContext.filter(
    (key) => typeof context(key) !== 'string' || context(key) === '',
  );
  if (missing.length) {
    throw new Error(
      `${name} needs ${missing.map((k) => `-c ${k}=...`).join(' ')} (no safe default exists for ${missing.join(', ')})`,
    );
  }
  const issuer = context('jwtIssuer');
  const audience = context('jwtAudience');
  const email = context('alarmEmail');
  return {
    ...base,
    ...(typeof issuer === 'string' ? { jwtIssuer: issuer } : {}),
    ...(typeof audience === 'string' ? { jwtAudience: audience.split(',') } : {}),
    ...(typeof email === 'string' ? { alarmEmail: email } : {}),
  };
}
