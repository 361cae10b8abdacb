import { Schema, type Connection, type Model, type SchemaDefinition, type Types } from 'mongoose';
import type { AttributeValue, EmailVerification } from '../../identity/user.ts';

/**
 * One schema per collection, its indexes beside it. The collections mirror the
 * SQLite tables (src/store/sqlite/migrations); uniqueness is an index's job.
 * No `required` validators: a required String refuses '', and the port's
 * types already say what is present. Nullable fields are written as null.
 */

export const nullableString = { type: String, default: null };
export const nullableDate = { type: Date, default: null };

/** A schema as every collection of the store has it: strict, no version key, empty objects kept. */
export function schema<T>(definition: SchemaDefinition<T>): Schema<T> {
  // minimize: false keeps an empty customAttributes / data object instead of dropping the field.
  return new Schema<T>(definition, { versionKey: false, minimize: false, strict: true });
}

/** A model of `connection`, registered once per connection (a second adapter on it reuses it). */
export function model<T>(connection: Connection, name: string, schema: Schema<T>, collection: string): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema, collection);
}

/** Only strings are indexed: a null key (email not unique in the realm, no phone) never collides. */
const onlyStrings = (field: string) => ({ partialFilterExpression: { [field]: { $type: 'string' } } });

export interface UserDoc {
  _id: string;
  realmId: string;
  userType: 'human' | 'api';
  username: string;
  usernameNorm: string;
  email: string | null;
  emailNorm: string | null;
  /** emailNorm when the realm requires unique emails, null otherwise. */
  emailUniqueKey: string | null;
  emailVerification: EmailVerification;
  phone: string | null;
  phoneVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  /** An API user's name (humans: null). */
  name?: string | null;
  /** What the users list sorts and searches names by (nameNormOf); absent only on users not yet filled in at start. */
  nameNorm?: string;
  nickname: string | null;
  photo: string | null;
  locale: string | null;
  state: 'active' | 'inactive';
  reference: string | null;
  customAttributes: Record<string, AttributeValue>;
  passwordHash: string | null;
  loginsCount: number;
  lastLoginAt: Date | null;
  lastLoginIp: string | null;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Written by unlinkExternalIdentity(unlessLast) in its transaction: two unlinks of one user then write the
   * same document and conflict. Snapshot isolation alone would let both commit, each seeing the other's identity.
   */
  identityRev?: number;
  /**
   * Written by createMembership in its transaction: a concurrent delete of the user then conflicts with it
   * and one of them runs again — a membership never outlives its user.
   */
  membershipRev?: number;
}

const userSchema = schema<UserDoc>({
  _id: String,
  realmId: String,
  userType: String,
  username: String,
  usernameNorm: String,
  email: nullableString,
  emailNorm: nullableString,
  emailUniqueKey: nullableString,
  emailVerification: String,
  phone: nullableString,
  phoneVerified: Boolean,
  firstName: nullableString,
  lastName: nullableString,
  name: nullableString,
  nameNorm: String,
  nickname: nullableString,
  photo: nullableString,
  locale: nullableString,
  state: String,
  reference: nullableString,
  customAttributes: { type: Schema.Types.Mixed, default: () => ({}) },
  passwordHash: nullableString,
  loginsCount: Number,
  lastLoginAt: nullableDate,
  lastLoginIp: nullableString,
  createdAt: Date,
  updatedAt: Date,
  identityRev: Number,
  membershipRev: Number,
});
userSchema.index({ realmId: 1, usernameNorm: 1 }, { unique: true, name: 'users_realm_username' });
userSchema.index({ realmId: 1, emailUniqueKey: 1 }, { unique: true, name: 'users_realm_email_unique', ...onlyStrings('emailUniqueKey') });
userSchema.index({ realmId: 1, emailNorm: 1 }, { name: 'users_realm_email' });
userSchema.index({ realmId: 1, phone: 1 }, { unique: true, name: 'users_realm_phone', ...onlyStrings('phone') });
userSchema.index({ realmId: 1, reference: 1 }, { name: 'users_realm_reference' });
// The users list's keyset paging: each sort key with _id as tie-breaker (null sorts lowest, as SQLite's coalesce folds it).
userSchema.index({ realmId: 1, emailNorm: 1, _id: 1 }, { name: 'users_sort_email' });
userSchema.index({ realmId: 1, nameNorm: 1, _id: 1 }, { name: 'users_sort_name' });
userSchema.index({ realmId: 1, createdAt: 1, _id: 1 }, { name: 'users_sort_created' });
userSchema.index({ realmId: 1, lastLoginAt: 1, _id: 1 }, { name: 'users_sort_last_login' });
userSchema.index({ realmId: 1, state: 1, _id: 1 }, { name: 'users_sort_state' });
userSchema.index({ realmId: 1, userType: 1, _id: 1 }, { name: 'users_type' });

export interface UserApiKeyDoc {
  realmId: string;
  userId: string;
  /** Keyed hash of the key: how a key is found. */
  lookupHash: string;
  /** AES-256-GCM under the realm's "encrypt" policy, else null. */
  sealed: string | null;
  createdAt: Date;
}

const userApiKeySchema = schema<UserApiKeyDoc>({ realmId: String, userId: String, lookupHash: String, sealed: nullableString, createdAt: Date });
userApiKeySchema.index({ realmId: 1, userId: 1 }, { unique: true, name: 'user_api_keys_user' });
userApiKeySchema.index({ realmId: 1, lookupHash: 1 }, { unique: true, name: 'user_api_keys_lookup' });

export interface LoginSessionDoc {
  _id: string;
  realmId: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
  amr: string[];
  aal: number;
  endedAt: Date | null;
  /** The operator of an impersonated session (ports/login-sessions.ts SessionActor); null for the user's own. */
  act: { sub: string; iss: string; realmId: string; sid: string; reason: string; expiresAt: Date } | null;
  /** The org picked for this session (`org=select`); absent in documents written before it existed. */
  selectedOrgId?: string | null;
}

const loginSessionSchema = schema<LoginSessionDoc>({
  _id: String,
  realmId: String,
  userId: String,
  createdAt: Date,
  lastSeenAt: Date,
  ip: nullableString,
  userAgent: nullableString,
  amr: [String],
  aal: Number,
  endedAt: nullableDate,
  act: { type: new Schema({ sub: String, iss: String, realmId: String, sid: String, reason: String, expiresAt: Date }, { _id: false }), default: null },
  selectedOrgId: nullableString,
});
loginSessionSchema.index({ realmId: 1, userId: 1 }, { name: 'login_sessions_user' });
// The realm dashboard's count of live sessions (countLive): not ended, recently seen, recently created.
loginSessionSchema.index({ realmId: 1, endedAt: 1, lastSeenAt: 1, createdAt: 1 }, { name: 'login_sessions_live' });

export interface SigningKeyDoc {
  realmId: string;
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwk: string;
  createdAt: Date;
  retiredAt: Date | null;
}

const signingKeySchema = schema<SigningKeyDoc>({
  realmId: String,
  kid: String,
  alg: String,
  publicJwk: String,
  privateJwk: String,
  createdAt: Date,
  retiredAt: nullableDate,
});
signingKeySchema.index({ realmId: 1, kid: 1 }, { unique: true, name: 'signing_keys_realm_kid' });

export interface OneTimeTokenDoc {
  realmId: string;
  purpose: string;
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  consumedAt: Date | null;
  createdAt: Date;
  attempts: number;
  data: Record<string, unknown> | null;
}

const oneTimeTokenSchema = schema<OneTimeTokenDoc>({
  realmId: String,
  purpose: String,
  tokenHash: String,
  userId: String,
  expiresAt: Date,
  consumedAt: nullableDate,
  createdAt: Date,
  attempts: { type: Number, default: 0 },
  data: { type: Schema.Types.Mixed, default: null },
});
oneTimeTokenSchema.index({ realmId: 1, purpose: 1, tokenHash: 1 }, { unique: true, name: 'one_time_tokens_hash' });
// checkOneTimeCode's "newest live code of the user" and revokeOneTimeTokens.
oneTimeTokenSchema.index({ realmId: 1, userId: 1, purpose: 1, createdAt: -1 }, { name: 'one_time_tokens_user' });

export interface EventDoc {
  _id?: Types.ObjectId;
  realmId: string;
  type: string;
  userId: string | null;
  /** Absent on events stored before the catalogue (read as the user themself). */
  actorType?: 'user' | 'operator' | 'api_key' | 'system';
  actorId?: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId?: string | null;
  at: Date;
  data?: Record<string, unknown>;
}

// _id stays an ObjectId: made in order by this process, it breaks ties between events of the same time.
const eventSchema = schema<EventDoc>({
  realmId: String,
  // Spelled out: a bare `type: String` reads as the type of the whole object in mongoose.
  type: { type: String },
  userId: nullableString,
  actorType: String,
  actorId: nullableString,
  clientId: nullableString,
  ip: nullableString,
  userAgent: nullableString,
  requestId: nullableString,
  at: Date,
  data: Schema.Types.Mixed,
});
eventSchema.index({ realmId: 1, userId: 1, at: -1, _id: -1 }, { name: 'events_user' });
// The events API lists a whole realm newest first, by (at, _id) keyset.
eventSchema.index({ realmId: 1, at: -1, _id: -1 }, { name: 'events_realm' });
// The realm dashboard's counts per day (dailyCounts): one range of `at` per type.
eventSchema.index({ realmId: 1, type: 1, at: 1 }, { name: 'events_type_at' });

export interface MailDoc {
  /** A new ObjectId as hex: a string id like the other stores', and in creation order for listMail's ties. */
  _id: string;
  realmId: string;
  kind: string;
  userId: string | null;
  to: { address: string; name: string | null };
  from: string;
  subject: string;
  text: string;
  html: string;
  link: string | null;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  /** A worker that claimed the mail owns it until then. */
  leaseUntil: Date | null;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

const mailSchema = schema<MailDoc>({
  _id: String,
  realmId: String,
  kind: String,
  userId: nullableString,
  to: { address: String, name: nullableString },
  from: String,
  subject: String,
  text: String,
  html: String,
  link: nullableString,
  status: String,
  attempts: Number,
  nextAttemptAt: Date,
  leaseUntil: nullableDate,
  lastError: nullableString,
  createdAt: Date,
  sentAt: nullableDate,
});
mailSchema.index({ status: 1, nextAttemptAt: 1 }, { name: 'outbox_due' });
mailSchema.index({ createdAt: -1, _id: -1 }, { name: 'outbox_recent' });

export interface SmsDoc {
  /** As MailDoc's. */
  _id: string;
  realmId: string;
  kind: string;
  userId: string | null;
  to: string;
  text: string;
  createdAt: Date;
}

const smsSchema = schema<SmsDoc>({
  _id: String,
  realmId: String,
  kind: String,
  userId: nullableString,
  to: String,
  text: String,
  createdAt: Date,
});
smsSchema.index({ createdAt: -1, _id: -1 }, { name: 'sms_outbox_created' });

export interface RealmStateDoc {
  realmId: string;
  key: string;
  value: string;
}

const realmStateSchema = schema<RealmStateDoc>({ realmId: String, key: String, value: String });
realmStateSchema.index({ realmId: 1, key: 1 }, { unique: true, name: 'realm_state_key' });

export interface SecretDoc {
  /** The secret's name. */
  _id: string;
  value: string;
}

const secretSchema = schema<SecretDoc>({ _id: String, value: String });

export interface TotpDoc {
  realmId: string;
  userId: string;
  /** Encrypted by identity/totp, never stored in the clear. */
  secret: string;
  confirmedAt: Date | null;
  lastStep: number;
  createdAt: Date;
}

const totpSchema = schema<TotpDoc>({
  realmId: String,
  userId: String,
  secret: String,
  confirmedAt: nullableDate,
  lastStep: { type: Number, default: 0 },
  createdAt: Date,
});
totpSchema.index({ realmId: 1, userId: 1 }, { unique: true, name: 'totp_credentials_user' });

export interface RecoveryCodeDoc {
  realmId: string;
  userId: string;
  codeHash: string;
  usedAt: Date | null;
  createdAt: Date;
}

const recoveryCodeSchema = schema<RecoveryCodeDoc>({
  realmId: String,
  userId: String,
  codeHash: String,
  usedAt: nullableDate,
  createdAt: Date,
});
recoveryCodeSchema.index({ realmId: 1, userId: 1, codeHash: 1 }, { unique: true, name: 'recovery_codes_code' });

export interface IdentityDoc {
  realmId: string;
  provider: string;
  subject: string;
  userId: string;
  displayName: string | null;
  email: string | null;
  createdAt: Date;
}

const identitySchema = schema<IdentityDoc>({
  realmId: String,
  provider: String,
  subject: String,
  userId: String,
  displayName: nullableString,
  email: nullableString,
  createdAt: Date,
});
identitySchema.index({ realmId: 1, provider: 1, subject: 1 }, { unique: true, name: 'external_identities_subject' });
// One identity per provider per user; also serves "the identities of a user".
identitySchema.index({ realmId: 1, userId: 1, provider: 1 }, { unique: true, name: 'external_identities_user_provider' });

/** An operator's role on one realm, or on every realm ('*'): SQLite's operator_roles (migration 011). */
export interface OperatorRoleDoc {
  operatorId: string;
  /** The realm granted: a forced realm delete purges it with the realm's other documents. */
  realmId: string;
  role: 'owner' | 'admin' | 'viewer';
  grantedAt: Date;
  grantedBy: string | null;
}

const operatorRoleSchema = schema<OperatorRoleDoc>({
  operatorId: String,
  realmId: String,
  role: String,
  grantedAt: Date,
  grantedBy: nullableString,
});
operatorRoleSchema.index({ operatorId: 1, realmId: 1 }, { unique: true, name: 'operator_roles_operator' });
operatorRoleSchema.index({ realmId: 1 }, { name: 'operator_roles_realm' });

export interface OrgDoc {
  /** `org_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  name: string;
  /** normalizeLogin(name): the list's sort and search. */
  nameNorm: string;
  reference: string | null;
  customAttributes: Record<string, AttributeValue>;
  state: 'active' | 'closed';
  createdAt: Date;
  updatedAt: Date;
  /** Written by createMembership in its transaction: a concurrent close or delete of the org conflicts with it (as UserDoc.membershipRev). */
  membershipRev?: number;
}

const orgSchema = schema<OrgDoc>({
  _id: String,
  realmId: String,
  name: String,
  nameNorm: String,
  reference: nullableString,
  customAttributes: { type: Schema.Types.Mixed, default: () => ({}) },
  state: String,
  createdAt: Date,
  updatedAt: Date,
  membershipRev: Number,
});
orgSchema.index({ realmId: 1, nameNorm: 1, _id: 1 }, { name: 'orgs_sort_name' });
orgSchema.index({ realmId: 1, createdAt: 1, _id: 1 }, { name: 'orgs_sort_created' });
orgSchema.index({ realmId: 1, reference: 1 }, { name: 'orgs_reference' });
orgSchema.index({ realmId: 1, state: 1, _id: 1 }, { name: 'orgs_state' });

export interface MembershipDoc {
  /** `mb_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  userId: string;
  /** null: the user-only membership. */
  orgId: string | null;
  /** orgId ?? '': one unique index covers both "one per (user, org)" and "one user-only" (a partial index on orgId: null is not portable). */
  orgKey: string;
  /** The org is active (true for a user-only membership): kept in step by patchOrg in its transaction, so the hand-off needs no join. */
  orgActive: boolean;
  permissions: string[];
  customAttributes: Record<string, AttributeValue>;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const membershipSchema = schema<MembershipDoc>({
  _id: String,
  realmId: String,
  userId: String,
  orgId: nullableString,
  orgKey: String,
  orgActive: Boolean,
  permissions: [String],
  customAttributes: { type: Schema.Types.Mixed, default: () => ({}) },
  expiresAt: nullableDate,
  createdAt: Date,
  updatedAt: Date,
});
membershipSchema.index({ realmId: 1, userId: 1, orgKey: 1 }, { unique: true, name: 'memberships_user_org' });
// The hand-off: a user's memberships of active orgs, newest first.
membershipSchema.index({ realmId: 1, userId: 1, orgActive: 1, createdAt: -1, _id: -1 }, { name: 'memberships_user' });
membershipSchema.index({ realmId: 1, orgId: 1, createdAt: 1, _id: 1 }, { name: 'memberships_org' });

export interface GroupDoc {
  /** `grp_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  name: string;
  /** normalizeLogin(name): unique in the realm, the list's sort and search. */
  nameNorm: string;
  description: string | null;
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
  /** Written by addGroupMembers in its transaction: a concurrent delete of the group conflicts with it (as UserDoc.membershipRev). */
  memberRev?: number;
}

const groupSchema = schema<GroupDoc>({
  _id: String,
  realmId: String,
  name: String,
  nameNorm: String,
  description: nullableString,
  permissions: [String],
  createdAt: Date,
  updatedAt: Date,
  memberRev: Number,
});
groupSchema.index({ realmId: 1, nameNorm: 1 }, { unique: true, name: 'groups_name' });

export interface GroupMemberDoc {
  realmId: string;
  groupId: string;
  userId: string;
  createdAt: Date;
}

const groupMemberSchema = schema<GroupMemberDoc>({
  realmId: String,
  groupId: String,
  userId: String,
  createdAt: Date,
});
groupMemberSchema.index({ realmId: 1, groupId: 1, userId: 1 }, { unique: true, name: 'group_members_pair' });
groupMemberSchema.index({ realmId: 1, userId: 1 }, { name: 'group_members_user' });
groupMemberSchema.index({ realmId: 1, groupId: 1, createdAt: 1, userId: 1 }, { name: 'group_members_page' });

export interface InvitationDoc {
  /** `inv_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  orgId: string;
  email: string;
  /** normalizeLogin(email): the accepting account's address must match it; prefix search. */
  emailNorm: string;
  name: string | null;
  /** normalizeLogin(name): prefix search. */
  nameNorm: string | null;
  permissions: string[];
  returnTo: { redirectUri: string; clientId: string; state?: string; org?: 'select' } | null;
  /** HMAC of the link's token: the token itself is never stored. */
  tokenHash: string;
  createdByType: 'operator' | 'api_key' | 'user' | 'system';
  createdById: string | null;
  status: 'pending' | 'accepted' | 'revoked';
  expiresAt: Date;
  sentCount: number;
  lastSentAt: Date;
  acceptedBy: string | null;
  acceptedAt: Date | null;
  createdAt: Date;
}

const invitationSchema = schema<InvitationDoc>({
  _id: String,
  realmId: String,
  orgId: String,
  email: String,
  emailNorm: String,
  name: nullableString,
  nameNorm: nullableString,
  permissions: [String],
  returnTo: { type: Schema.Types.Mixed, default: null },
  tokenHash: String,
  createdByType: String,
  createdById: nullableString,
  status: String,
  expiresAt: Date,
  sentCount: Number,
  lastSentAt: Date,
  acceptedBy: nullableString,
  acceptedAt: nullableDate,
  createdAt: Date,
});
invitationSchema.index({ realmId: 1, tokenHash: 1 }, { unique: true, name: 'invitations_token' });
invitationSchema.index({ realmId: 1, orgId: 1, createdAt: -1, _id: -1 }, { name: 'invitations_org' });
invitationSchema.index({ realmId: 1, createdAt: -1, _id: -1 }, { name: 'invitations_created' });
invitationSchema.index({ realmId: 1, emailNorm: 1 }, { name: 'invitations_email' });

export interface InvitationLinkDoc {
  /** `invl_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  name: string | null;
  orgId: string | null;
  permissions: string[];
  approval: boolean;
  returnTo: { redirectUri: string; clientId: string; state?: string; org?: 'select' } | null;
  /** HMAC of the link's token: the token itself is never stored. */
  tokenHash: string;
  createdByType: 'operator' | 'api_key' | 'user' | 'system';
  createdById: string | null;
  expiresAt: Date;
  revokedAt: Date | null;
  uses: number;
  createdAt: Date;
}

const invitationLinkSchema = schema<InvitationLinkDoc>({
  _id: String,
  realmId: String,
  name: nullableString,
  orgId: nullableString,
  permissions: [String],
  approval: Boolean,
  returnTo: { type: Schema.Types.Mixed, default: null },
  tokenHash: String,
  createdByType: String,
  createdById: nullableString,
  expiresAt: Date,
  revokedAt: nullableDate,
  uses: Number,
  createdAt: Date,
});
invitationLinkSchema.index({ realmId: 1, tokenHash: 1 }, { unique: true, name: 'invitation_links_token' });
invitationLinkSchema.index({ realmId: 1, createdByType: 1, createdById: 1, revokedAt: 1 }, { name: 'invitation_links_creator' });
invitationLinkSchema.index({ realmId: 1, createdAt: -1, _id: -1 }, { name: 'invitation_links_created' });

export interface JoinRequestDoc {
  /** `jr_…` (domain/ids.ts). */
  _id: string;
  realmId: string;
  linkId: string;
  name: string;
  email: string;
  userId: string | null;
  status: 'pending' | 'approved' | 'rejected';
  decidedByType: 'operator' | 'api_key' | 'user' | 'system' | null;
  decidedById: string | null;
  decidedAt: Date | null;
  reason: string | null;
  createdAt: Date;
}

const joinRequestSchema = schema<JoinRequestDoc>({
  _id: String,
  realmId: String,
  linkId: String,
  name: String,
  email: String,
  userId: nullableString,
  status: String,
  decidedByType: nullableString,
  decidedById: nullableString,
  decidedAt: nullableDate,
  reason: nullableString,
  createdAt: Date,
});
joinRequestSchema.index({ realmId: 1, status: 1, createdAt: -1, _id: -1 }, { name: 'join_requests_status' });
joinRequestSchema.index({ realmId: 1, createdAt: -1, _id: -1 }, { name: 'join_requests_created' });

export interface Models {
  users: Model<UserDoc>;
  loginSessions: Model<LoginSessionDoc>;
  signingKeys: Model<SigningKeyDoc>;
  oneTimeTokens: Model<OneTimeTokenDoc>;
  events: Model<EventDoc>;
  outbox: Model<MailDoc>;
  sms: Model<SmsDoc>;
  realmState: Model<RealmStateDoc>;
  secrets: Model<SecretDoc>;
  totp: Model<TotpDoc>;
  recoveryCodes: Model<RecoveryCodeDoc>;
  identities: Model<IdentityDoc>;
  userApiKeys: Model<UserApiKeyDoc>;
  operatorRoles: Model<OperatorRoleDoc>;
  orgs: Model<OrgDoc>;
  memberships: Model<MembershipDoc>;
  groups: Model<GroupDoc>;
  groupMembers: Model<GroupMemberDoc>;
  invitations: Model<InvitationDoc>;
  invitationLinks: Model<InvitationLinkDoc>;
  joinRequests: Model<JoinRequestDoc>;
}

/** The models on `connection` (its own registry: several stores never share a model). */
export function createModels(connection: Connection): Models {
  return {
    users: connection.model<UserDoc>('User', userSchema, 'users'),
    loginSessions: connection.model<LoginSessionDoc>('LoginSession', loginSessionSchema, 'login_sessions'),
    signingKeys: connection.model<SigningKeyDoc>('SigningKey', signingKeySchema, 'signing_keys'),
    oneTimeTokens: connection.model<OneTimeTokenDoc>('OneTimeToken', oneTimeTokenSchema, 'one_time_tokens'),
    events: connection.model<EventDoc>('Event', eventSchema, 'events'),
    outbox: connection.model<MailDoc>('OutboxMail', mailSchema, 'outbox'),
    sms: connection.model<SmsDoc>('Sms', smsSchema, 'sms_outbox'),
    realmState: connection.model<RealmStateDoc>('RealmState', realmStateSchema, 'realm_state'),
    secrets: connection.model<SecretDoc>('Secret', secretSchema, 'secrets'),
    totp: connection.model<TotpDoc>('TotpCredential', totpSchema, 'totp_credentials'),
    recoveryCodes: connection.model<RecoveryCodeDoc>('RecoveryCode', recoveryCodeSchema, 'recovery_codes'),
    identities: connection.model<IdentityDoc>('ExternalIdentity', identitySchema, 'external_identities'),
    userApiKeys: connection.model<UserApiKeyDoc>('UserApiKey', userApiKeySchema, 'user_api_keys'),
    operatorRoles: connection.model<OperatorRoleDoc>('OperatorRole', operatorRoleSchema, 'operator_roles'),
    orgs: connection.model<OrgDoc>('Org', orgSchema, 'orgs'),
    memberships: connection.model<MembershipDoc>('Membership', membershipSchema, 'memberships'),
    groups: connection.model<GroupDoc>('Group', groupSchema, 'groups'),
    groupMembers: connection.model<GroupMemberDoc>('GroupMember', groupMemberSchema, 'group_members'),
    invitations: connection.model<InvitationDoc>('Invitation', invitationSchema, 'invitations'),
    invitationLinks: connection.model<InvitationLinkDoc>('InvitationLink', invitationLinkSchema, 'invitation_links'),
    joinRequests: connection.model<JoinRequestDoc>('JoinRequest', joinRequestSchema, 'join_requests'),
  };
}
