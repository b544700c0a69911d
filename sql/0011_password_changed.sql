-- 0011_password_changed: a password change ends the sessions issued before it.  The API
-- compares a session token's issue time with this column (fcgi/api/auth_api.c); personal API
-- tokens are credentials of their own and are revoked one by one.  Set by the database itself,
-- so every way of changing a password (the profile, an admin's reset, SQL) counts.
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

CREATE FUNCTION users_password_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password IS DISTINCT FROM OLD.password THEN
        NEW.password_changed_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_password_changed BEFORE UPDATE OF password ON users
    FOR EACH ROW EXECUTE FUNCTION users_password_changed();
