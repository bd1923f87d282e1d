// A deprecation is a bug waiting for the next major version of a dependency (pg@9 turns queries
// queued on a busy client into errors): in tests it throws where it happens, so a test fails.
process.throwDeprecation = true;
