-- Conversations between users. A conversation holds its last sequence
-- number; each message takes the next one (unique per conversation, the
-- order of the conversation). A participant row holds the read position
-- (a sequence number) and a copy of the conversation's last activity, so
-- that a user's conversations are listed from an index on their rows and
-- the unread count is last_seq - read_seq, never a count of messages.
-- `conv_key` is unique: a direct conversation's is its pair of users, a
-- group's its own id.
CREATE TABLE conversations (
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL,
    title            TEXT,
    created_by       UUID NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_seq         BIGINT NOT NULL,
    last_activity_at TIMESTAMPTZ NOT NULL,
    conv_key         TEXT NOT NULL UNIQUE
);
CREATE TABLE conversation_participants (
    conversation_id  UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id          UUID NOT NULL,
    joined_at        TIMESTAMPTZ NOT NULL,
    read_seq         BIGINT NOT NULL,
    last_activity_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX ix_conversation_participants_user
    ON conversation_participants (user_id, last_activity_at DESC, conversation_id DESC);
CREATE TABLE conversation_messages (
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    sender_id       UUID NOT NULL,
    content         TEXT,
    parent_id       UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX ix_conversation_messages_sender
    ON conversation_messages (sender_id, created_at DESC, id DESC);
CREATE TABLE blocks (
    blocker_id UUID NOT NULL,
    blocked_id UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX ix_blocks_blocked ON blocks (blocked_id);
-- A notification may point at a conversation (a new message).
ALTER TABLE notifications ADD COLUMN conversation_id UUID;
