-- Role names. Roles are cluster-wide, so every role AxTract creates starts
-- with this database's role prefix.

CREATE OR REPLACE FUNCTION axtract.role_prefix() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT role_prefix FROM axtract.instance $$;

-- The NOLOGIN role that holds SELECT on a partner's views.
CREATE OR REPLACE FUNCTION axtract.partner_role(slug text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT axtract.role_prefix() || '_p_' || slug $$;

-- The NOLOGIN role that owns a partner's views; the row-level security
-- policies on mart tables name it.
CREATE OR REPLACE FUNCTION axtract.partner_owner_role(slug text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT axtract.role_prefix() || '_o_' || slug $$;

-- A LOGIN reader role of a partner.
CREATE OR REPLACE FUNCTION axtract.partner_login_role(slug text, login text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT axtract.role_prefix() || '_l_' || slug || '_' || login $$;

CREATE OR REPLACE FUNCTION axtract.partner_schema(slug text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'partner_' || slug $$;
