//! External Secrets Operator and Vault Secrets Operator text that is not an object dump:
//! controller logs (JSON lines, and zap's console format with a JSON tail) and the event
//! texts inside them. Each log entry about an object becomes an Event joined to that object,
//! so the Vault error it carries reaches the same rules as a `kubectl describe` Events table.

pub mod logs;
