-- Conversations: direct (two users, id derived from the pair) and groups.
-- `membership_version` increases with every change of members, roles or
-- permissions (anything that changes an Authorize answer); `info_version`
-- with every change of name, description, avatar or permissions (the
-- optimistic-concurrency version of PATCH and PUT permissions).
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    avatar_file_id TEXT NOT NULL DEFAULT '',
    post_policy TEXT NOT NULL DEFAULT 'everyone',
    add_policy TEXT NOT NULL DEFAULT 'admins',
    edit_policy TEXT NOT NULL DEFAULT 'admins',
    direct_low TEXT NOT NULL DEFAULT '',
    direct_high TEXT NOT NULL DEFAULT '',
    membership_version BIGINT NOT NULL,
    info_version BIGINT NOT NULL,
    member_count BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Current members. `joined_version` is the membership version of the join:
-- the lowest is the longest-standing member.
CREATE TABLE members (
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_version BIGINT NOT NULL,
    joined_at_ms BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, conversation_id);

-- Invite links. The token is signed; the row holds what can change.
CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    max_uses BIGINT,
    uses BIGINT NOT NULL DEFAULT 0,
    revoked_at_ms BIGINT
);
CREATE INDEX invites_by_conversation ON invites (conversation_id, created_at_ms);

-- Blocks between users, from the profile service's events. The latest
-- event per pair wins (`changed_at_ms`), whatever order they arrive in.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    blocked BIGINT NOT NULL,
    changed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
