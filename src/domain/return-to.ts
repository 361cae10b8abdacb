/**
 * Where a flow goes back to once it is done, as it can be stored (session, one-time token data) and checked
 * again against the realm's apps when used (flows/handoff `fromReturnInfo`): an app's clientId, one of its
 * registered redirect URIs, and the app's `state`. Plain data, so services can carry one without the flows.
 */
export interface ReturnTo {
  redirectUri: string;
  clientId: string;
  state?: string;
  /** The app asked for one selected org (`org=select`, docs/design/orgs.md §7.1). */
  org?: 'select';
}
