import type { Provider } from '../../../db/vocabulary';
import { getConfig } from '../../../domain/config';
import type { PaymentGateway } from '../../../domain/ports';
import { type GatewaySecrets, gatewaySecrets } from '../gateway-secrets';
import { webhookSecret } from '../webhook-secret';
import { builtinGateway } from './builtin';
import { portoneGateway } from './portone';
import { tossGateway } from './toss';

/**
 * The gateway adapter for a provider, configured from the environment and the gateway secrets.
 * card / kakao / naver are the built-in gateway; toss and portone their real APIs (locally the
 * simulator in local/pg-simulator/).
 */
export async function gatewayFor(provider: Provider): Promise<PaymentGateway> {
  return build(provider, provider === 'toss' || provider === 'portone' ? await gatewaySecrets() : undefined);
}

/**
 * The adapter for building checkout data only: no secret is read (the start-payment function has
 * none; a checkout needs only public keys and ids), and any call to the gateway would fail.
 */
export async function checkoutGatewayFor(provider: Provider): Promise<PaymentGateway> {
  return build(provider, { tossSecretKey: '', portoneApiSecret: '', portoneWebhookSecret: '' });
}

async function build(provider: Provider, secrets: GatewaySecrets | undefined): Promise<PaymentGateway> {
  const config = getConfig();
  const timeoutMs = config.GATEWAY_TIMEOUT_MS;
  switch (provider) {
    case 'toss':
      return tossGateway({
        apiBase: config.TOSS_API_BASE,
        clientKey: config.TOSS_CLIENT_KEY,
        secretKey: secrets!.tossSecretKey,
        timeoutMs,
      });
    case 'portone':
      return portoneGateway({
        apiBase: config.PORTONE_API_BASE,
        apiSecret: secrets!.portoneApiSecret,
        storeId: config.PORTONE_STORE_ID,
        channelKey: config.PORTONE_CHANNEL_KEY,
        timeoutMs,
      });
    case 'card':
    case 'kakao':
    case 'naver':
      return builtinGateway({
        provider,
        apiBase: config.BUILTIN_PG_API_BASE,
        secret: await webhookSecret(),
        timeoutMs,
      });
  }
}
