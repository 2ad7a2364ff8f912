import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ApiStack } from './api-stack';
import { DataStack } from './data-stack';
import { environmentFrom } from './environments';
import { WebStack } from './web-stack';

/**
 * The whole deployment of one environment: the stateful data stack, the API stack, then the web app
 * in front of it (built beforehand into `siteDir`, web/dist unless given).
 */
export function buildApp(app = new App(), options: { siteDir?: string } = {}) {
  // cross-stack references protect the data stack's exports from being removed while in use
  app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
  const config = environmentFrom((key) => app.node.tryGetContext(key));
  const env = {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION ?? 'ap-northeast-2',
  };
  const data = new DataStack(app, `Ticketing-${config.name}-Data`, {
    env,
    config,
    terminationProtection: config.name === 'prod',
  });
  const api = new ApiStack(app, `Ticketing-${config.name}-Api`, { env, config, data });
  api.addDependency(data);
  const web = new WebStack(app, `Ticketing-${config.name}-Web`, {
    env,
    config,
    api,
    siteDir: options.siteDir,
  });
  Tags.of(app).add('project', 'ticketing');
  Tags.of(app).add('environment', config.name);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, config, data, api, web };
}
