-- One identity per provider per user: "link another" adds a provider, and unlinking names the provider.
CREATE UNIQUE INDEX external_identities_user_provider ON external_identities (realm_id, user_id, provider);
