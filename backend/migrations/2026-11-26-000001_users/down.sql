DROP TABLE users;
DROP FUNCTION taskflow_set_updated_at();
