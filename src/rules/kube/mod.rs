//! Rules about Kubernetes objects: Pods and the Secrets they consume.

pub mod image_pull_auth;
pub mod sibling_outlier;
