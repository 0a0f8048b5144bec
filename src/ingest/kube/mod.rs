//! Kubernetes and ESO inputs: JSON/YAML object dumps, `kubectl get` tables, `kubectl
//! describe` text and Events tables.

pub mod delivery;
pub mod describe;
pub mod docs;
pub mod events;
pub mod json;
pub mod objects;
pub mod table;
pub mod x509;
