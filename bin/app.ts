import { buildApp } from '../lib/app';

/** `npx cdk synth -c env=dev` / `npx cdk deploy --all -c env=prod` */
buildApp();
