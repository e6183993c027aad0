-- Conversations between users. A conversation holds its last sequence
-- number; each message takes the next one (unique per conversation, the
-- order of the conversation). A participant row holds the read position
-- (a sequence number) and a copy of the conversation's last activity, so
-- that a user's conversations are listed from an index on their rows and
-- the unread count is last_seq - read_seq, never a count of messages.
-- `conv_key` is unique: a direct conversation's is its pair of users, a
-- group's its own id.
CREATE TABLE conversations (
    id               BLOB PRIMARY KEY,
    kind             TEXT NOT NULL,
    title            TEXT,
    created_by       BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    conv_key         TEXT NOT NULL UNIQUE
);
CREATE TABLE conversation_participants (
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id          BLOB NOT NULL,
    joined_at        INTEGER NOT NULL,
    read_seq         INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX ix_conversation_participants_user
    ON conversation_participants (user_id, last_activity_at DESC, conversation_id DESC);
CREATE TABLE conversation_messages (
    id              BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    sender_id       BLOB NOT NULL,
    content         TEXT,
    parent_id       BLOB,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX ix_conversation_messages_sender
    ON conversation_messages (sender_id, created_at DESC, id DESC);
CREATE TABLE blocks (
    blocker_id BLOB NOT NULL,
    blocked_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX ix_blocks_blocked ON blocks (blocked_id);
-- A notification may point at a conversation (a new message).
ALTER TABLE notifications ADD COLUMN conversation_id BLOB;
