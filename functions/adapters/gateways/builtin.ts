import type { SignedProvider } from '../../../db/vocabulary';
import type { PaymentGateway } from '../../../domain/ports';

export interface BuiltinOptions {
  provider: SignedProvider;
  apiBase: string;
  secret: string;
  timeoutMs: number;
}

/** The built-in gateway: payments by signed webhook, refunds by a signed cancel call. */
export function builtinGateway(_options: BuiltinOptions): PaymentGateway {
  throw new Error('not implemented yet');
}
