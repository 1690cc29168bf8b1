CREATE TABLE tasks (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    user_id     uuid        NOT NULL,
    title       text        NOT NULL,
    description text,
    completed   boolean     NOT NULL DEFAULT false,
    -- 0 = low, 1 = medium, 2 = high: numeric so that sorting by priority is a plain ORDER BY.
    priority    smallint    NOT NULL DEFAULT 1,
    due_date    date,
    tags        text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_pkey PRIMARY KEY (id),
    CONSTRAINT tasks_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT tasks_title_length CHECK (char_length(title) BETWEEN 1 AND 200 AND title = btrim(title)),
    CONSTRAINT tasks_description_length CHECK (char_length(description) <= 1000),
    CONSTRAINT tasks_priority_range CHECK (priority BETWEEN 0 AND 2),
    CONSTRAINT tasks_tags_count CHECK (cardinality(tags) <= 10),
    CONSTRAINT tasks_tags_not_null CHECK (array_position(tags, NULL) IS NULL)
);

-- The default listing (newest first) and every other per-user listing start from this index.
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);
-- Status filters and the pending/completed counts.
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed);
-- Due-date filters, sorting by due date and the overdue count.
CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_date) WHERE due_date IS NOT NULL;
-- Tag filters (`tags @> ARRAY[...]`).
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);

CREATE TRIGGER tasks_set_updated_at
    BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION taskflow_set_updated_at();
