DROP TRIGGER users_notify_session_change ON users;
DROP TRIGGER revoked_tokens_notify_session_change ON revoked_tokens;
DROP FUNCTION taskflow_notify_session_change();
