// TEMPORARY STUB: being replaced by the ACL evaluator.
pub mod eso;
use crate::model::{Loc, VaultPolicy};
pub struct Acl<'a> { policies: Vec<&'a VaultPolicy> }
pub struct MatchedRule<'a> { pub policy: &'a str, pub pattern: &'a str, pub loc: &'a Loc }
pub struct Decision<'a> { pub allowed: bool, pub rule: Option<MatchedRule<'a>> }
impl<'a> Acl<'a> {
    pub fn new(p: &[&'a VaultPolicy]) -> Acl<'a> { Acl { policies: p.to_vec() } }
    pub fn check(&self, path: &str, cap: &str) -> Decision<'a> {
        for p in &self.policies { for r in &p.rules {
            let m = if let Some(pre) = r.path.strip_suffix('*') { path.starts_with(pre) } else { r.path == path };
            if m && r.capabilities.iter().any(|c| c == cap) { return Decision { allowed: true, rule: Some(MatchedRule { policy: &p.name, pattern: &r.path, loc: &r.loc }) }; }
        }}
        Decision { allowed: false, rule: None }
    }
}
