import type { RoleGrant } from '../domain/operator-role.ts';

/** Operators' role grants (docs/design/console.md §1.2): one row per operator and realm ('*': every realm). */
export interface OperatorRolesPort {
  /** The operator's grants, '*' first, then by realm id. */
  grantsOf(operatorId: string): Promise<RoleGrant[]>;
  /** The grants on `realmId` and the '*' grants (who can reach that realm), by operator id then realm id. */
  grantsOn(realmId: string): Promise<RoleGrant[]>;
  /** Every grant, by operator id then realm id ('*' first). */
  allGrants(): Promise<RoleGrant[]>;
  /** Puts the grant: an operator's grant on a realm is replaced whole. */
  setGrant(grant: RoleGrant): Promise<void>;
  /** false when the operator had no grant on that realm. */
  removeGrant(operatorId: string, realmId: string): Promise<boolean>;
  /** How many operators hold 'owner' on exactly `realmId` (pass '*' for the every-realm owners). */
  countOwners(realmId: string): Promise<number>;
  /** Whether any grant exists (the CLI's first operator becomes owner of '*'). */
  anyOperator(): Promise<boolean>;
}
