/** Billing's transactional emails: a receipt for a paid invoice, a notice for a failed payment. */
import type { Config } from '../core/config.ts';
import type { MailMessage } from '../core/mail/mailer.ts';

/** Formats a Stripe amount (in the currency's minor unit) for people, e.g. 3000 usd -> "$30.00". */
export function formatAmount(amount: number, currency: string): string {
  try {
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
    const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
    return fmt.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency.toUpperCase()} (minor units)`;
  }
}

export interface InvoiceFacts {
  orgId: string;
  orgName: string;
  amount: number;
  currency: string;
  number: string | null;
  hostedInvoiceUrl: string | null;
}

const billingPage = (config: Config, orgId: string) => `${config.publicUrl}/orgs/${orgId}#billing`;

/** The receipt sent to each owner when an invoice is paid. */
export function receiptEmail(config: Config, to: string, inv: InvoiceFacts): MailMessage {
  const amount = formatAmount(inv.amount, inv.currency);
  return {
    to,
    subject: `Receipt for ${inv.orgName}: ${amount} paid`,
    text:
      `Thank you. We received ${amount} for ${inv.orgName}${inv.number ? ` (invoice ${inv.number})` : ''}.\n\n` +
      (inv.hostedInvoiceUrl ? `View or download the invoice: ${inv.hostedInvoiceUrl}\n` : '') +
      `Plan, seats and invoices: ${billingPage(config, inv.orgId)}\n`,
  };
}

/** The notice sent to each owner when a payment fails. */
export function paymentFailedEmail(config: Config, to: string, inv: InvoiceFacts): MailMessage {
  const amount = formatAmount(inv.amount, inv.currency);
  return {
    to,
    subject: `Payment failed for ${inv.orgName}`,
    text:
      `We could not collect ${amount} for ${inv.orgName}${inv.number ? ` (invoice ${inv.number})` : ''}.\n\n` +
      `Please update the card on file under Billing -> Manage billing: ${billingPage(config, inv.orgId)}\n` +
      (inv.hostedInvoiceUrl ? `Or pay the invoice directly: ${inv.hostedInvoiceUrl}\n` : '') +
      `The payment will be retried automatically; if it keeps failing, the subscription ends and paid seats are released.\n`,
  };
}
