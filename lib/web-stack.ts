import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { deployedRoutes } from '../functions/routes';
import { WEB_DIST } from '../scripts/build-web';
import type { ApiStack } from './api-stack';
import type { EnvironmentConfig } from './environments';

/** Paths the built files own on the shared domain; no API route may begin with one of them. */
export const APP_PATHS = ['/', '/index.html', '/console/', '/config.json', '/assets/'] as const;

/**
 * The CloudFront path patterns that send a request to the API: one per first path segment of the
 * deployed routes (`/concerts` and `/concerts/*`, `/admin/*` …), derived from the route table so a
 * new route is reachable without touching this stack. Webhooks stay on the API's own URL: a PG
 * calls it, never a browser.
 */
export function apiPathPatterns(routes = deployedRoutes): string[] {
  const patterns = new Set<string>();
  for (const [, route] of routes) {
    if (route.auth === 'webhook') continue;
    const [, first, ...rest] = route.path.split('/');
    if (!first) throw new Error(`A route at the root (${route.path}) would shadow the web app`);
    if (APP_PATHS.some((p) => p.startsWith(`/${first}`)))
      throw new Error(`/${first} belongs to the web app (${route.path})`);
    patterns.add(rest.length ? `/${first}/*` : `/${first}`);
  }
  return [...patterns].sort();
}

/**
 * A viewer-request function on the files' behaviour (cloudfront-js-2.0). The apps route by the hash
 * (`/console/#/reports/3`), so their only pages are `/` and `/console/`: a folder gets its
 * index.html (CloudFront's default root object covers `/` alone) and `/console` its slash. Nothing
 * else is rewritten: a missing file stays an error rather than a page served as JavaScript, and as
 * the function runs on the files' behaviour only, the API's own 403/404 problems pass untouched
 * (an error-page fallback on the distribution would turn them into the app's page).
 */
export const APP_PAGES = `function handler(event) {
  var request = event.request;
  if (request.uri === '/console') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/console/' } } };
  }
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}`;

/**
 * The app's Content-Security-Policy: its own origin (the files and the API) and the identity
 * provider's token endpoint, which the sign-in calls; nothing inline, nothing from elsewhere, no
 * framing. The payment windows and the provider's login page are navigations, which it does not
 * restrict. The browser tests run the app under this same policy (web/test/oidc.browser.test.ts).
 */
export function contentSecurityPolicy(tokenEndpoint: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${new URL(tokenEndpoint).origin}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface WebStackProps extends StackProps {
  config: EnvironmentConfig;
  api: ApiStack;
  /** The built web app (scripts/build-web.ts); web/dist unless given. */
  siteDir?: string;
}

/**
 * The web app: the built files in a private bucket, served with the API through one CloudFront
 * distribution. The API's routes keep their paths (they sit at the root, API.md), so the app calls
 * the API on its own origin: no CORS preflight, no second domain in the CSP, the same paths as
 * `npm start`. The files own `/`, `/console/`, `/assets/` and `/config.json`; the apps route with
 * the hash (`/#/concerts/1`, web/shared/router.ts), so no page path ever collides with an API path.
 */
export class WebStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headers: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const { config, api } = props;
    const siteDir = props.siteDir ?? WEB_DIST;
    if (!existsSync(join(siteDir, 'index.html')) || !existsSync(join(siteDir, 'console', 'index.html')))
      throw new Error(`${siteDir} holds no built web app: run \`npm run build:web\` first`);
    const { signIn } = config;

    const logs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // CloudFront's standard logs are written with an ACL: the bucket must accept object writers
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.name !== 'prod',
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'It is the access log bucket: logging its own writes would log forever',
    });

    this.bucket = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 's3/',
      // the files come from git with every deploy; prod keeps the bucket anyway, as it keeps its logs
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.name !== 'prod',
    });

    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `ticketing-${config.name}: security headers of the web app and the API`,
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: contentSecurityPolicy(signIn.tokenEndpoint),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
      },
    });

    const appPages = new cloudfront.Function(this, 'AppPages', {
      code: cloudfront.FunctionCode.fromInline(APP_PAGES),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: '/ and /console/ get their index.html, /console its slash; files keep their path',
    });

    // The edge keeps the files until the next deploy invalidates them; browsers revalidate
    const filesCache = new cloudfront.CachePolicy(this, 'FilesCache', {
      comment: `ticketing-${config.name}: the web app's files, kept at the edge until a deploy`,
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.days(1),
      maxTtl: Duration.days(365),
      enableAcceptEncodingBrotli: true,
      enableAcceptEncodingGzip: true,
    });

    const apiOrigin = new origins.HttpOrigin(`${api.api.apiId}.execute-api.${api.region}.${api.urlSuffix}`, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      // below API Gateway's own 30 s integration limit, the API answers or fails first
      readTimeout: Duration.seconds(30),
    });
    const apiBehavior: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      // nothing of the API is cached at the edge: answers depend on the caller and change by the second;
      // every viewer header but Host (API Gateway routes by its own host name) goes through,
      // Authorization included, which CloudFront forwards when caching is disabled
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: this.headers,
      compress: true,
    };

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `ticketing-${config.name}: web app and API`,
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_200,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: filesCache,
        responseHeadersPolicy: this.headers,
        compress: true,
        functionAssociations: [
          { function: appPages, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
        ],
      },
      additionalBehaviors: Object.fromEntries(apiPathPatterns().map((pattern) => [pattern, apiBehavior])),
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-CFR1',
        reason: 'Fans buy tickets from anywhere; no country is to be refused',
      },
      {
        id: 'AwsSolutions::AwsSolutions-CFR2',
        reason:
          "A CloudFront web ACL must live in us-east-1, outside this stack's region; the API stage throttles (environments.ts) and the waiting room meters on-sales",
      },
      {
        id: 'AwsSolutions::AwsSolutions-CFR4',
        reason:
          "The default *.cloudfront.net certificate's security policy is fixed at TLSv1; a custom domain with its ACM certificate (us-east-1) would take TLSv1.2_2021",
      },
    );

    const appUrl = `https://${this.distribution.distributionDomainName}`;
    new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(siteDir),
        // what the app reads at start (web/shared/config.ts): how to sign in. No API base: the API
        // is this origin. No checkout pages: the providers' own windows take the simulator's place
        s3deploy.Source.jsonData('config.json', {
          auth: {
            mode: 'oidc',
            issuer: config.jwtIssuer,
            clientId: signIn.clientId,
            authorizationEndpoint: signIn.authorizationEndpoint,
            tokenEndpoint: signIn.tokenEndpoint,
            endSessionEndpoint: signIn.endSessionEndpoint,
            scopes: signIn.scopes,
            redirectUris: { fan: `${appUrl}/`, console: `${appUrl}/console/` },
          },
          checkout: {},
        }),
      ],
      // the edge keeps a file until the next deploy, which invalidates them all; browsers revalidate
      cacheControl: [
        s3deploy.CacheControl.setPublic(),
        s3deploy.CacheControl.maxAge(Duration.seconds(0)),
        s3deploy.CacheControl.sMaxAge(Duration.days(365)),
        s3deploy.CacheControl.mustRevalidate(),
      ],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });

    // CDK's own handler that copies the files: its role, policy and runtime come with aws-cdk-lib
    const copier = this.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!copier) throw new Error("BucketDeployment's handler not found");
    Validations.of(copier).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "CDK's BucketDeployment handler writes its own logs with the basic execution role",
      },
      ...[
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        // the partition is a literal once the region is known (`cdk synth` with a default region)
        `Resource::arn:${Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${this.region}/*`,
        `Resource::<${this.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`,
      ].map((finding) => ({
        id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`,
        reason:
          "BucketDeployment's grants: read the asset staging bucket, replace every file of the site bucket (and nothing else)",
      })),
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudfront:CreateInvalidation / GetInvalidation, which the BucketDeployment grants on every distribution, to invalidate this one after a deploy',
      },
      {
        id: 'AwsSolutions::AwsSolutions-L1',
        reason:
          "CDK's BucketDeployment handler: its Python runtime is chosen by aws-cdk-lib and moves with it",
      },
    );

    new CfnOutput(this, 'AppUrl', { value: `${appUrl}/` });
    new CfnOutput(this, 'ConsoleUrl', { value: `${appUrl}/console/` });
    new CfnOutput(this, 'SiteBucketName', { value: this.bucket.bucketName });
  }
}
