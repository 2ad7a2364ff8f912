import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { buildWeb } from '../../scripts/build-web';

/** The deploy-time settings prod requires (lib/environments.ts), as an operator would pass them. */
export const PROD_CONTEXT = {
  jwtIssuer: 'https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_Rehearsal',
  jwtAudience: 'ticketing',
  alarmEmail: 'oncall@ticketing.example',
  tossClientKey: 'live_ck_Rehearsal',
  portoneStoreId: 'store-rehearsal',
  portoneChannelKey: 'channel-key-rehearsal',
  builtinPgApiBase: 'https://pg.rehearsal.example',
  oidcAuthorizationEndpoint: 'https://rehearsal.auth.ap-northeast-2.amazoncognito.com/oauth2/authorize',
  oidcTokenEndpoint: 'https://rehearsal.auth.ap-northeast-2.amazoncognito.com/oauth2/token',
};

export type EnvName = 'dev' | 'prod';

export interface Synthesized {
  env: EnvName;
  api: Template;
  data: Template;
  web: Template;
  built: ReturnType<typeof buildApp>;
  /** The cloud assembly directory: templates and bundled assets (`asset.<hash>/`). */
  outdir: string;
}

/**
 * Builds the web app and synthesises every environment once, with esbuild bundling, as `cdk synth`
 * would. Both apps
 * share one output directory, so CDK bundles each function once and both environments point at
 * the same asset (its cache is keyed by output directory and bundling options).
 */
export async function synthesizeAll(
  envs: EnvName[] = ['dev', 'prod'],
): Promise<Record<EnvName, Synthesized>> {
  const outdir = mkdtempSync(join(tmpdir(), 'ticketing-synth-'));
  // the web app, built as `cdk synth` builds it, into the assembly's folder (web/dist stays as it is)
  const siteDir = join(outdir, 'web');
  await buildWeb({ outdir: siteDir });
  const result = {} as Record<EnvName, Synthesized>;
  for (const env of envs) {
    const app = new App({ outdir, context: { env, ...(env === 'prod' ? PROD_CONTEXT : {}) } });
    const built = buildApp(app, { siteDir });
    // cdk-nag runs as a validation plugin: any unacknowledged finding makes synth throw
    app.synth();
    result[env] = {
      env,
      api: Template.fromStack(built.api),
      data: Template.fromStack(built.data),
      web: Template.fromStack(built.web),
      built,
      outdir,
    };
  }
  return result;
}
