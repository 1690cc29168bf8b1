-- The assistant's chats. A conversation belongs to one user; its messages belong to it, so
-- deleting the user or the conversation removes everything below.
CREATE TABLE conversations (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL,
    title      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Moves with every new message, so "most recently active first" is an index scan.
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_pkey PRIMARY KEY (id),
    CONSTRAINT conversations_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT conversations_title_length CHECK (char_length(title) BETWEEN 1 AND 100 AND title = btrim(title))
);

-- The conversation list of a user, most recently active first.
CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at DESC, id DESC);

CREATE TRIGGER conversations_set_updated_at
    BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION taskflow_set_updated_at();

CREATE TABLE messages (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    conversation_id uuid        NOT NULL,
    -- Who wrote it: the user, or the assistant (whose tool calls are stored with its reply).
    role            text        NOT NULL,
    content         text        NOT NULL,
    -- The tool calls the assistant made for this reply: [{name, arguments, outcome}, ...].
    tool_calls      jsonb       NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_pkey PRIMARY KEY (id),
    CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT messages_role_valid CHECK (role IN ('user', 'assistant')),
    CONSTRAINT messages_content_length CHECK (char_length(content) BETWEEN 1 AND 20000),
    CONSTRAINT messages_tool_calls_array CHECK (jsonb_typeof(tool_calls) = 'array')
);

-- A conversation's messages in order (history pages and the recent history sent to the model).
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id);
