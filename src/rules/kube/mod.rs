//! Rules about Kubernetes objects: Pods and the Secrets they consume.

pub mod clock_skew;
pub mod image_pull_auth;
pub mod pod_secret_failure;
pub mod pull_secret_unusable;
pub mod secret_key_missing;
pub mod secret_not_produced;
pub mod sibling_outlier;
pub mod stale_env;
pub mod tls_expiring;
