import { buildApp } from '../lib/app';
import { buildWeb } from '../scripts/build-web';

/**
 * `npx cdk synth -c env=dev` / `npx cdk deploy --all -c env=prod`: the web app is built first, so a
 * deploy never ships files older than the code beside them.
 */
await buildWeb();
buildApp();
