-- Every backend process caches the sessions it has checked. These triggers tell all of them,
-- through NOTIFY on channel taskflow_sessions, when a cached answer stops being true: a token
-- was revoked ("token:<jti>"), or an account changed or was deleted ("user:<id>"). They fire
-- whoever makes the change, and the notification is sent when the transaction commits.
CREATE FUNCTION taskflow_notify_session_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'revoked_tokens' THEN
        PERFORM pg_notify('taskflow_sessions', 'token:' || NEW.jti::text);
    ELSE
        PERFORM pg_notify('taskflow_sessions', 'user:' || OLD.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER revoked_tokens_notify_session_change
    AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION taskflow_notify_session_change();

CREATE TRIGGER users_notify_session_change
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION taskflow_notify_session_change();
