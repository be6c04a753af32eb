import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fromRoot } from '@app/config';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests edit the YAML document freely, as an analyst would, and the validator judges it */

/** The reference rule set (config/rules.yaml) as a plain document, a fresh copy each call. */
export function referenceRuleSet(): Record<string, any> {
  return parse(readFileSync(fromRoot('config/rules.yaml'), 'utf8')) as Record<string, any>;
}

/** A changed version: an overdue payment suspends the customer instead of putting it at risk (billing's records are mapped again). */
export function overdueSuspends(): Record<string, any> {
  const rs = referenceRuleSet();
  rs.mappings.billing.rules[1] = { id: 'billing-overdue-suspends', description: 'Overdue now suspends', when: { state: 1 }, then: 'SUSPENDED' };
  rs.examples.mappings[6] = { system: 'billing', raw: { state: 1 }, expect: { status: 'SUSPENDED', rule: 'billing-overdue-suspends' } };
  rs.examples.resolution[3] = { systems: { crm: ['ACTIVE'], billing: ['SUSPENDED'] }, expect: { status: 'SUSPENDED', reason: 'suspended' } };
  // billing never maps to AT_RISK any more: the at-risk rule could never fire (validation says so).
  rs.resolution.rules = rs.resolution.rules.filter((r: { id: string }) => r.id !== 'at-risk');
  return rs;
}
