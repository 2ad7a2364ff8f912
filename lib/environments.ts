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
  /**
   * The web app's sign-in at the same provider (authorization code + PKCE, web/shared/auth.ts): a
   * public client (no secret) whose tokens the JWT authorizer accepts, so `clientId` must be one of
   * `jwtAudience`. Cognito's endpoints are on the user pool's domain, not on the issuer.
   */
  signIn: SignInSettings;
  /** Stage-wide API throttling. */
  throttle: { rateLimit: number; burstLimit: number };
  /** Alarm notifications; unset = alarms without a subscriber (dev only). */
  alarmEmail?: string;
  /**
   * NAT gateways for the functions that call payment gateways (the `internet` need): one shared by
   * every AZ (cheap; an AZ outage stops gateway calls everywhere), or one per AZ (each AZ's
   * functions keep their way out when another AZ fails). One NAT is about $32 a month plus data.
   */
  natGateways: 'one' | 'perAz';
  /**
   * The payment gateways' settings that are not secret (same names as the local configuration,
   * domain/config.ts); the secret keys are in the gateway secret (lib/data-stack.ts). Every API base
   * is https on 443: the gateway callers' security group lets nothing else out.
   */
  gateways: GatewaySettings;
  /**
   * Settings that have no safe default here and must be given at deploy time with `-c key=value`:
   * synth fails without them (a made-up issuer would answer 401 to every secured route, a made-up
   * client key would break every checkout).
   */
  requiredContext: ContextKey[];
  /** Same names as the local configuration (API.md). */
  booking: {
    HOLD_TTL_SECONDS: number;
    PAYMENT_TTL_SECONDS: number;
    MAX_SEATS_PER_ORDER: number;
    MAX_SEATS_PER_USER: number;
  };
}

export interface SignInSettings {
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  scopes: string[];
  /**
   * The provider's logout (OIDC RP-initiated logout's end_session_endpoint, or Cognito's
   * `/logout`): signing out of the app ends the provider's session too, so the next person at a
   * shared browser is not signed in as the last one. Unset: the app forgets its token only.
   */
  endSessionEndpoint?: string;
}

export interface GatewaySettings {
  TOSS_API_BASE: string;
  TOSS_CLIENT_KEY: string;
  PORTONE_API_BASE: string;
  PORTONE_STORE_ID: string;
  PORTONE_CHANNEL_KEY: string;
  BUILTIN_PG_API_BASE: string;
}

/** Deploy-time settings: `-c <key>=...`, each replacing the environment's value. */
const GATEWAY_CONTEXT = {
  tossClientKey: 'TOSS_CLIENT_KEY',
  portoneStoreId: 'PORTONE_STORE_ID',
  portoneChannelKey: 'PORTONE_CHANNEL_KEY',
  builtinPgApiBase: 'BUILTIN_PG_API_BASE',
} as const satisfies Record<string, keyof GatewaySettings>;
/** Deploy-time settings of the web app's sign-in: `-c <key>=...`. */
const SIGN_IN_CONTEXT = {
  webClientId: 'clientId',
  oidcAuthorizationEndpoint: 'authorizationEndpoint',
  oidcTokenEndpoint: 'tokenEndpoint',
  oidcEndSessionEndpoint: 'endSessionEndpoint',
} as const satisfies Record<string, keyof SignInSettings>;
type ContextKey =
  | 'jwtIssuer'
  | 'jwtAudience'
  | 'alarmEmail'
  | keyof typeof GATEWAY_CONTEXT
  | Exclude<keyof typeof SIGN_IN_CONTEXT, 'webClientId'>;

const SIGN_IN_SCOPES = ['openid', 'email', 'profile'];

/** Toss and PortOne serve test and live payments on the same bases: the keys decide which. */
const GATEWAY_BASES = {
  TOSS_API_BASE: 'https://api.tosspayments.com',
  PORTONE_API_BASE: 'https://api.portone.io',
};

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
    // the dev pool's domain, a placeholder like the pool (-c replaces both); the client id is the audience
    signIn: {
      clientId: '',
      authorizationEndpoint: 'https://ticketing-dev.auth.ap-northeast-2.amazoncognito.com/oauth2/authorize',
      tokenEndpoint: 'https://ticketing-dev.auth.ap-northeast-2.amazoncognito.com/oauth2/token',
      scopes: SIGN_IN_SCOPES,
    },
    throttle: { rateLimit: 200, burstLimit: 400 },
    natGateways: 'one',
    // test mode: the merchant's test client key, store and channel replace these with -c (README)
    gateways: {
      ...GATEWAY_BASES,
      TOSS_CLIENT_KEY: 'test_ck_replace-with-your-test-client-key',
      PORTONE_STORE_ID: 'store-replace-with-your-store-id',
      PORTONE_CHANNEL_KEY: 'channel-key-replace-with-your-test-channel',
      // .invalid never resolves (RFC 2606): built-in refunds fail loudly until the real base is set
      BUILTIN_PG_API_BASE: 'https://builtin-pg.invalid',
    },
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
    // the client id is the first audience unless -c webClientId says otherwise; the endpoints come with the deploy
    signIn: { clientId: '', authorizationEndpoint: '', tokenEndpoint: '', scopes: SIGN_IN_SCOPES },
    throttle: { rateLimit: 5000, burstLimit: 10000 },
    natGateways: 'perAz',
    gateways: {
      ...GATEWAY_BASES,
      TOSS_CLIENT_KEY: '',
      PORTONE_STORE_ID: '',
      PORTONE_CHANNEL_KEY: '',
      BUILTIN_PG_API_BASE: '',
    },
    requiredContext: [
      'jwtIssuer',
      'jwtAudience',
      'alarmEmail',
      'tossClientKey',
      'portoneStoreId',
      'portoneChannelKey',
      'builtinPgApiBase',
      'oidcAuthorizationEndpoint',
      'oidcTokenEndpoint',
    ],
    booking,
  },
};

/**
 * `cdk synth -c env=dev`; issuer, audience and alarm e-mail come per deploy with
 * `-c jwtIssuer=https://... -c jwtAudience=a,b -c alarmEmail=...`, the gateways' merchant settings
 * with `-c tossClientKey=... -c portoneStoreId=... -c portoneChannelKey=... -c builtinPgApiBase=...`
 * the web app's sign-in with `-c oidcAuthorizationEndpoint=https://... -c oidcTokenEndpoint=https://...`
 * and, when it is not the first audience, `-c webClientId=...` (prod requires all but the client id).
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
  const gateways = { ...base.gateways };
  for (const [key, setting] of Object.entries(GATEWAY_CONTEXT)) {
    const value = context(key);
    if (typeof value === 'string' && value !== '') gateways[setting] = value;
  }
  for (const [name, value] of Object.entries(gateways)) {
    if (name.endsWith('_API_BASE') && !reachableThroughEgress(value))
      throw new Error(
        `${name} must be an https URL on port 443 (${value}): the gateway callers may reach nothing else`,
      );
  }
  const jwtAudience = typeof audience === 'string' ? audience.split(',') : base.jwtAudience;
  const signIn = { ...base.signIn, clientId: base.signIn.clientId || jwtAudience[0] || '' };
  for (const [key, setting] of Object.entries(SIGN_IN_CONTEXT)) {
    const value = context(key);
    if (typeof value === 'string' && value !== '') signIn[setting] = value;
  }
  if (!jwtAudience.includes(signIn.clientId))
    throw new Error(
      `The web app's client id ${signIn.clientId} is not in jwtAudience (${jwtAudience.join(',')}): the API would refuse its tokens`,
    );
  for (const endpoint of [
    signIn.authorizationEndpoint,
    signIn.tokenEndpoint,
    signIn.endSessionEndpoint ?? 'https://',
  ]) {
    if (!endpoint.startsWith('https://'))
      throw new Error(`The sign-in endpoints must be https URLs (${endpoint})`);
  }
  return {
    ...base,
    ...(typeof issuer === 'string' ? { jwtIssuer: issuer } : {}),
    jwtAudience,
    ...(typeof email === 'string' ? { alarmEmail: email } : {}),
    gateways,
    signIn,
  };
}

/** What the gateway callers' security group lets out: HTTPS on 443, nothing else (lib/data-stack.ts). */
export function reachableThroughEgress(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && (parsed.port === '' || parsed.port === '443');
  } catch {
    return false;
  }
}
