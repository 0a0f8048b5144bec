//! CT-AGENT-001 vault-agent-init-failing.

use crate::model::Source;
use crate::rules::eso::sync_failing::check_syncs;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct AgentInitFailing;
pub static RULE: AgentInitFailing = AgentInitFailing;

static META: RuleMeta = RuleMeta {
    id: "CT-AGENT-001",
    name: "vault-agent-init-failing",
    severity: Severity::Error,
    covers: &["FM-01", "FM-05", "FM-06"],
    summary: "a Pod with Vault Agent Injector annotations is stuck because its agent cannot log in or render its secrets",
    docs: "## What it checks\n\
Pods annotated `vault.hashicorp.com/agent-inject: \"true\"` whose `vault-agent-init` init container is waiting \
(`CrashLoopBackOff`, `Error`) or still running minutes after the Pod started, joined with the agent's log \
(`[ERROR] agent.auth.handler: error authenticating` or `(runner) error rendering`, which hold the Vault error). \
The Pod's `vault.hashicorp.com/role` and `agent-inject-secret-*` annotations give the role and the paths, so the \
Vault rules trace a refusal to its policy or to the role's bindings.\n\n\
## Why it matters\n\
The agent retries forever: the Pod never leaves `Init:0/1` and nothing in its status says why. There is no \
Kubernetes Secret to look at; the error is only in the agent's log.\n\n\
## Example\n\
`web-7d9c-x2x 0/2 Init:0/1` with `vault-agent-init` logging `URL: PUT http://vault:8200/v1/auth/kubernetes/login \
Code: 403 ... permission denied`.\n\n\
## How to fix\n\
Fix what the Vault error names (bind the Pod's ServiceAccount to the role, grant the path in the role's policy), \
then restart the Pod's workload.",
};

impl Rule for AgentInitFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        if !ctx
            .snap
            .external_secrets
            .iter()
            .any(|e| e.source == Source::Agent)
        {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        check_syncs(ctx, sink, &|e| e.source == Source::Agent);
    }
}
