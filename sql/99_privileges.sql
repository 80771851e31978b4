-- Runs last: whatever the files before it created, PUBLIC may execute no
-- function of the control schema. Functions are for the AxTract service and
-- DBAs; partner roles have no USAGE on schema axtract either.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;
