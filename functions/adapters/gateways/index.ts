import type { Provider } from '../../../db/vocabulary';
import { getConfig } from '../../../domain/config';
import type { PaymentGateway } from '../../../domain/ports';
import { gatewaySecrets } from '../gateway-secrets';
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
  const config = getConfig();
  const timeoutMs = config.GATEWAY_TIMEOUT_MS;
  switch (provider) {
    case 'toss':
      return tossGateway({
        apiBase: config.TOSS_API_BASE,
        clientKey: config.TOSS_CLIENT_KEY,
        secretKey: (await gatewaySecrets()).tossSecretKey,
        timeoutMs,
      });
    case 'portone':
      return portoneGateway({
        apiBase: config.PORTONE_API_BASE,
        apiSecret: (await gatewaySecrets()).portoneApiSecret,
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
