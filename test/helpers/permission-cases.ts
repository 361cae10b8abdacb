/** [held, wanted, granted]: the permission convention documented in the README ("Nesting permissions"), shared by test/unit/permissions.test.ts and permissions-doc.test.ts. */
export const PERMISSION_CASES: Array<[string[], string, boolean]> = [
  [['billing:read'], 'billing:read', true],
  [['billing:read'], 'billing:write', false],
  [['billing:*'], 'billing:read', true],
  [['billing:*'], 'billing:invoices:write', true],
  [['billing:*'], 'billing', false],
  [['billing:*'], 'billing:', false],
  [['billing:*'], 'billingx:read', false],
  [['*'], 'anything:at:all', true],
  [['bill*'], 'billing', false],
  [['bill*'], 'bill*', true],
  [['Billing:Read'], 'billing:READ', true],
  [['role;owner'], 'role;owner', true],
  [[], 'billing:read', false],
  [['reports:read', 'billing:*'], 'billing:x', true],
];
